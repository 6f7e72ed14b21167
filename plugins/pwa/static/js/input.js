// Ordered input to an agent's stdin: one request in flight per task; keystrokes typed while it
// travels are coalesced into the next request, so fast typing stays in order and cheap.
import { post, enc } from './api.js';

const queues = new Map(); // taskId -> {busy, chunks: [{data, merge, binary}]}

async function pump(taskId, q) {
  if (q.busy) return;
  q.busy = true;
  try {
    while (q.chunks.length) {
      const first = q.chunks.shift();
      let data = first.data;
      // Merge consecutive keystrokes; a chunk sent as a unit (a composed line, a key) stays alone.
      while (first.merge && q.chunks.length && q.chunks[0].merge && q.chunks[0].binary === first.binary) {
        data += q.chunks.shift().data;
      }
      // Binary strings (xterm mouse reports) carry raw bytes 0-255: send them as base64.
      const body = first.binary ? { b64: btoa(data) } : { data };
      try {
        await post(`/api/tasks/${enc(taskId)}/input`, body);
      } catch (err) {
        q.chunks.length = 0;
        if (q.onError) q.onError(err);
        break;
      }
    }
  } finally {
    q.busy = false;
  }
}

/**
 * Queue `data` for the task's stdin. merge=true for terminal keystrokes (may be batched with
 * neighbours); merge=false sends it as its own write (a composed line, then its Enter).
 */
export function sendInput(taskId, data, { merge = false, binary = false, onError } = {}) {
  if (!data) return;
  let q = queues.get(taskId);
  if (!q) {
    q = { busy: false, chunks: [], onError: null };
    queues.set(taskId, q);
  }
  if (onError) q.onError = onError;
  q.chunks.push({ data, merge, binary });
  pump(taskId, q);
}
