// A live agent terminal: xterm.js on the task's terminal WebSocket (keys out and output in as
// binary frames, no HTTP request per key), falling back to POST /input + the SSE byte stream when
// the WebSocket cannot be opened.
// - resumes with ?since=<last end offset> after a drop (no gap, no duplicate);
// - fits the PTY to the viewport on open, window resize and rotation, never while hidden (another
//   tab open) or zero-sized; when the daemon answers
//   rerendered:true it kills and resumes the agent at the new width, so after the exit event we
//   wait for the new session and reattach from a clean screen;
// - keystrokes typed into the terminal itself go to the agent's stdin.
import { Terminal } from '/vendor/xterm.mjs';
import { FitAddon } from '/vendor/addon-fit.mjs';
import { get, post, enc, withToken, on as onApi } from './api.js';
import { openSSE, b64bytes } from './sse.js';
import { sendInput } from './input.js';
import { state, subscribe, onEvent, putTask } from './store.js';
import { toast } from './dom.js';

const FONT_KEY = 'argus.fontSize';

function defaultFontSize() {
  const saved = Number(localStorage.getItem(FONT_KEY));
  if (saved >= 8 && saved <= 24) return saved;
  return window.matchMedia('(max-width: 600px)').matches ? 11 : 13;
}

export class TerminalPane {
  /** container: the element xterm renders into; onStatus(text, kind) shows the stream state. */
  constructor(container, taskId, { onStatus = () => {} } = {}) {
    this.container = container;
    this.taskId = taskId;
    this.onStatus = onStatus;
    this.lastEnd = null;
    this.conn = null;
    this.retry = null;
    this.retryDelay = 300;
    this.disposed = false;
    this.exited = null; // {sessionId} while waiting for a new session after an exit
    this.expectRerender = false;
    this.sent = { cols: 0, rows: 0 };
    this.resizeTimer = null;
    this.sessionId = null;
    this.sawStopped = false;
    this.resizing = null;
    this.fitted = false; // true once a size was measured on screen
    this.generation = 0; // bumped on every reattach to a new session
    this.cleanups = [];
    this.ws = null; // the open terminal WebSocket, if any
    this.wsBroken = false; // a WebSocket never opened here: use POST + SSE from now on
    this.wsWorked = false; // one did open: a later failure is a network drop, retried
    this.encoder = new TextEncoder();

    this.term = new Terminal({
      fontSize: defaultFontSize(),
      fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, "DejaVu Sans Mono", "Liberation Mono", monospace',
      scrollback: 10000,
      cursorBlink: false,
      allowProposedApi: false,
      macOptionIsMeta: true,
      theme: { background: '#0b1120', foreground: '#e2e8f0', cursor: '#f59e0b', selectionBackground: '#334155' },
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(container);
    this.term.onData((d) => this.type(this.encoder.encode(d), d, false));
    this.term.onBinary((d) => this.type(Uint8Array.from(d, (ch) => ch.charCodeAt(0) & 0xff), d, true));

    const ro = new ResizeObserver(() => this.scheduleFit());
    ro.observe(container);
    this.cleanups.push(() => ro.disconnect());
    const onOrient = () => this.scheduleFit(50);
    window.addEventListener('orientationchange', onOrient);
    if (screen.orientation) screen.orientation.addEventListener('change', onOrient);
    this.cleanups.push(() => {
      window.removeEventListener('orientationchange', onOrient);
      if (screen.orientation) screen.orientation.removeEventListener('change', onOrient);
    });
    this.cleanups.push(subscribe(() => this.checkSession()));
    this.cleanups.push(onEvent((ev) => {
      const d = ev.data || {};
      const id = d.id || d.task_id || (d.task && d.task.id);
      if (id === this.taskId && ev.type.startsWith('session.')) this.checkSession(true);
    }));
    this.cleanups.push(onApi('online', () => {
      if (!this.disposed && !this.exited) {
        if (this.conn) this.conn.close();
        this.connect();
      }
    }));
  }

  /** Keys typed into the terminal: a binary frame on the WebSocket, else queued POSTs. */
  type(bytes, text, binary) {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(bytes);
      return;
    }
    sendInput(this.taskId, text, { merge: true, binary, onError: binary ? undefined : (e) => this.inputError(e) });
  }

  inputError(err) {
    toast(`Input not delivered: ${err.message}`, 'error');
  }

  task() {
    return state.tasks.get(this.taskId);
  }

  /** Start streaming. */
  start() {
    this.doFit();
    this.connect();
  }

  /** The query resuming from where we are: ?since=&session= (empty the first time). */
  resumeQuery() {
    const params = new URLSearchParams();
    if (this.lastEnd !== null) params.set('since', String(this.lastEnd));
    // If the session changed while we were away, the daemon restarts from the new one's top.
    if (this.lastEnd !== null && this.sessionId) params.set('session', this.sessionId);
    return params.toString() ? `?${params}` : '';
  }

  connect() {
    if (this.disposed) return;
    clearTimeout(this.retry);
    this.onStatus(this.lastEnd === null ? 'connecting' : 'reconnecting', 'muted');
    if (!this.wsBroken && typeof WebSocket === 'function') this.connectWs();
    else this.connectSse();
  }

  /** The terminal WebSocket: JSON text frames (session, exit, error), binary output frames. */
  connectWs() {
    const url = new URL(withToken(`/api/tasks/${enc(this.taskId)}/terminal${this.resumeQuery()}`), location.origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try { ws = new WebSocket(url.href); } catch { this.wsBroken = true; this.connectSse(); return; }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.conn = ws;
    let opened = false;
    let gotExit = false;
    let offset = null; // the byte offset of the next output frame
    ws.onopen = () => {
      opened = true;
      this.wsWorked = true;
      this.retryDelay = 300;
      this.onStatus('live', 'ok');
      this.syncSize();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (typeof ev.data !== 'string') {
        const bytes = new Uint8Array(ev.data);
        if (offset === null) offset = this.lastEnd ?? 0;
        this.output({ offset, bytes });
        offset += bytes.length;
        return;
      }
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'session') {
        this.session(msg);
        offset = Number(msg.offset) || 0;
      } else if (msg.type === 'exit') {
        // The next session (a re-render, a resume) is attached the usual way.
        gotExit = true;
        this.ws = null;
        ws.close();
        this.exit(msg);
      } else if (msg.type === 'error') {
        this.inputError(new Error(msg.error || 'refused'));
      }
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this.ws = null;
      if (this.conn !== ws) return; // closed by us for a newer connection
      this.conn = null;
      if (this.disposed || gotExit) return;
      if (!opened && !this.wsWorked) {
        // Never upgraded here (a proxy without WebSockets, a refused token...): POST + SSE from
        // now on (it also says why). Once one worked, a failed open is a network drop: retry.
        this.wsBroken = true;
        this.connectSse();
        return;
      }
      if (ev.code === 4404 || ev.code === 4409) {
        this.onStatus(ev.reason || 'no live session', 'muted');
        this.waitForSession();
        return;
      }
      this.onStatus('reconnecting', 'muted');
      this.retry = setTimeout(() => this.connect(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 4000);
    };
  }

  connectSse() {
    const q = this.resumeQuery();
    let gotExit = false;
    this.conn = openSSE(`/api/tasks/${enc(this.taskId)}/stream${q}`, {
      onOpen: () => {
        this.retryDelay = 300;
        this.onStatus('live', 'ok');
        this.syncSize();
      },
      onMessage: (m) => {
        if (m.event === 'output') this.outputMessage(m);
        else if (m.event === 'session') {
          try { this.session(JSON.parse(m.data)); } catch { /* not JSON: ignore */ }
        } else if (m.event === 'exit') {
          gotExit = true;
          let info = {};
          try { info = JSON.parse(m.data); } catch { /* keep {} */ }
          this.exit(info);
        }
      },
      onClose: ({ reason, status, message }) => {
        this.conn = null;
        if (this.disposed || reason === 'abort') return;
        if (gotExit) return;
        if (reason === 'http') {
          if (status === 401) return;
          // No live session (or none yet): wait for one to start.
          this.onStatus(message || 'no live session', 'muted');
          this.waitForSession();
          return;
        }
        this.onStatus('reconnecting', 'muted');
        this.retry = setTimeout(() => this.connect(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 4000);
      },
    });
  }

  /** The stream's first message: which session, from which offset. */
  session(info) {
    if (this.sessionId && info.session_id && info.session_id !== this.sessionId) {
      // Another session's bytes: start from a clean screen (ordered after pending writes).
      this.term.write('\x1bc');
      this.lastEnd = null;
    }
    if (info.session_id) this.sessionId = info.session_id;
  }

  /** An SSE output message: base64 bytes at an offset. */
  outputMessage(m) {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    const bytes = b64bytes(msg.data || '');
    let start = Number(msg.offset);
    if (Number.isNaN(start)) start = this.lastEnd ?? 0;
    const end = m.id !== null && m.id !== '' && !Number.isNaN(Number(m.id)) ? Number(m.id) : start + bytes.length;
    this.output({ offset: start, bytes, end });
  }

  /** Output bytes starting at byte `offset` of the session (overlap with what we have is dropped). */
  output({ offset, bytes, end = null }) {
    let start = offset;
    if (this.lastEnd !== null && start < this.lastEnd) {
      const skip = this.lastEnd - start; // overlap after a reconnect: drop what we already have
      if (skip >= bytes.length) return;
      bytes = bytes.subarray(skip);
      start = this.lastEnd;
    }
    if (bytes.length) this.term.write(bytes);
    this.lastEnd = Math.max(end ?? 0, start + bytes.length);
  }

  async exit(info) {
    const gen = this.generation;
    this.waitForSession(this.sessionId);
    // The exit of a re-render can arrive before the resize answer that announced it.
    if (this.resizing) await this.resizing.catch(() => {});
    if (gen !== this.generation) return; // already attached to the next session
    if (this.expectRerender) {
      this.onStatus('re-rendering at the new width…', 'muted');
    } else if (this.exited) {
      const why = info.signal ? `signal ${info.signal}` : `code ${info.code ?? '?'}`;
      this.term.write(`\r\n\x1b[2m[session exited, ${why}]\x1b[0m\r\n`);
      this.onStatus(`exited (${why})`, 'muted');
    }
  }

  /** After an exit (or with no session), reattach as soon as a different session runs. */
  waitForSession(exitedSession = this.sessionId) {
    this.exited = { sessionId: exitedSession };
    const t = this.task();
    this.sawStopped = !t || !t.running;
    // The snapshot may already show the new session (a quick re-render): check it now.
    get(`/api/tasks/${enc(this.taskId)}`).then((out) => {
      const task = out.task || out;
      if (task && task.id) putTask(task);
      this.checkSession();
    }).catch(() => {});
  }

  checkSession(fromEvent = false) {
    if (!this.exited || this.disposed) return;
    const t = this.task();
    if (!t) return;
    if (!t.running) { this.sawStopped = true; return; }
    const newSession = t.session_id && this.exited.sessionId
      ? t.session_id !== this.exited.sessionId : (this.sawStopped || fromEvent);
    if (!newSession) return;
    this.generation += 1;
    this.exited = null;
    this.expectRerender = false;
    this.lastEnd = null;
    this.sessionId = null;
    this.sent = { cols: 0, rows: 0 };
    // Reset in order after anything still queued for the old screen, then attach.
    this.term.write('', () => {
      this.term.reset();
      this.connect();
    });
  }

  scheduleFit(ms = 150) {
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => this.doFit(), ms);
  }

  /** True when the terminal is on screen with a real size (not a hidden tab, not zero-sized). */
  visible() {
    return !this.disposed && !!this.container.offsetParent
      && this.container.clientWidth > 0 && this.container.clientHeight > 0;
  }

  doFit() {
    if (!this.visible()) return; // hidden: keep the size
    try { this.fit.fit(); } catch { return; }
    this.fitted = true;
    this.syncSize();
  }

  async syncSize() {
    // Only a size measured on screen goes to the PTY: a hidden or never-fitted terminal still
    // has xterm's default 80×24, and sending that would resize (and re-render) the agent.
    if (!this.fitted || !this.visible()) return;
    const { cols, rows } = this.term;
    if (!cols || !rows || this.exited) return;
    if (cols === this.sent.cols && rows === this.sent.rows) return;
    const t = this.task();
    if (t && !t.running) return;
    this.sent = { cols, rows };
    const gen = this.generation;
    this.resizing = post(`/api/tasks/${enc(this.taskId)}/resize`, { cols, rows });
    try {
      const out = await this.resizing;
      // A late answer about a session we already left must not flag the new one.
      if (out && out.rerendered && gen === this.generation) {
        this.expectRerender = true;
        toast('Re-rendering at the new width…');
      }
    } catch {
      this.sent = { cols: 0, rows: 0 };
    } finally {
      this.resizing = null;
    }
  }

  /** Change the font size (persisted per device) and refit. */
  zoom(delta) {
    const size = Math.max(8, Math.min(24, this.term.options.fontSize + delta));
    this.term.options.fontSize = size;
    localStorage.setItem(FONT_KEY, String(size));
    this.scheduleFit(0);
  }

  focus() {
    this.term.focus();
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.retry);
    clearTimeout(this.resizeTimer);
    if (this.conn) this.conn.close();
    for (const fn of this.cleanups) fn();
    this.term.dispose();
  }
}
