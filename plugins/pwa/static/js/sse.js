// Server-sent events over fetch (so the token travels in a header and a 401 is visible),
// with reconnection left to the caller through onClose.
import { authHeaders, emit } from './api.js';

/** Parse an SSE byte stream; calls onMessage({event, data, id}) per message. */
export class SSEParser {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buf = '';
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
    this.id = null;
  }

  feed(text) {
    this.buf += text;
    let idx;
    while ((idx = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, idx);
      const sepLen = this.buf.startsWith('\r\n', idx) ? 2 : 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (this.buf[idx] === '\r' && sepLen === 1 && idx === this.buf.length - 1) break;
      this.buf = this.buf.slice(idx + sepLen);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length || this.event) {
        this.onMessage({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.reset();
      return;
    }
    if (line[0] === ':') return; // comment / keepalive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}

/**
 * Open one SSE connection. handlers: {onOpen(), onMessage(msg), onClose(reason)} where reason is
 * 'end' (server closed), 'network' (daemon unreachable or dropped), 'http' (error status, with
 * status) or 'abort'. Returns {close()}.
 */
export function openSSE(url, handlers) {
  const ctrl = new AbortController();
  let closed = false;
  const finish = (reason, extra = {}) => {
    if (closed) return;
    closed = true;
    handlers.onClose && handlers.onClose({ reason, ...extra });
  };
  (async () => {
    let resp;
    try {
      resp = await fetch(url, { headers: { ...authHeaders(), Accept: 'text/event-stream' },
        cache: 'no-store', signal: ctrl.signal });
    } catch (err) {
      finish(ctrl.signal.aborted ? 'abort' : 'network');
      return;
    }
    if (!resp.ok) {
      let message = `${resp.status}`;
      try { message = (await resp.json()).error || message; } catch { /* not JSON */ }
      if (resp.status === 401) emit('unauthorized', { status: 401, message });
      finish('http', { status: resp.status, message });
      return;
    }
    handlers.onOpen && handlers.onOpen();
    const parser = new SSEParser((msg) => handlers.onMessage(msg));
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
      finish('end');
    } catch (err) {
      finish(ctrl.signal.aborted ? 'abort' : 'network');
    }
  })();
  return {
    close() {
      ctrl.abort();
      finish('abort');
    },
  };
}

/** Decode base64 into bytes. */
export function b64bytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
