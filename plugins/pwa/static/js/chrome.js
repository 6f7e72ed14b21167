// The app chrome around the views: the title, the connection dot, and the agent-staged
// clipboard Copy button (GET /api/clipboard; a tap copies inside the gesture, then consumes).
import { get, post, on as onApi } from './api.js';
import { copyText, toast } from './dom.js';
import { state, subscribe, onEvent } from './store.js';

/** Set the top bar's title (empty shows nothing). */
export function setTitle(text) {
  document.getElementById('topbar-title').textContent = text || '';
  document.title = text ? `${text} · Argus` : 'Argus';
}

let staged = null;
let missing = false; // this daemon has no clipboard route: ask again only after a reconnect

/** Ask the daemon whether an agent staged text to copy. */
export async function checkClipboard({ force = false } = {}) {
  const btn = document.getElementById('clip-btn');
  if (missing && !force) return;
  try {
    const out = await get('/api/clipboard');
    staged = out && out.text ? out : null;
    missing = false;
  } catch (err) {
    staged = null;
    // The kernel answers an unknown route with exactly "not found"; "nothing staged" is data.
    if (err.status === 404 && err.body && err.body.error === 'not found') missing = true;
  }
  btn.hidden = !staged;
  if (staged) btn.title = `Copy text staged by the agent (${staged.text.length} chars)`;
}

/** Wire the connection dot and the clipboard button. */
export function initChrome() {
  const dot = document.getElementById('conn');
  subscribe(() => {
    dot.dataset.state = state.connected ? 'live' : 'down';
    dot.title = state.connected ? 'Live' : 'Reconnecting…';
  });
  const btn = document.getElementById('clip-btn');
  btn.addEventListener('click', () => {
    if (!staged) return;
    const text = staged.text;
    copyText(text).then((ok) => {
      if (!ok) {
        toast('Copy failed', 'error');
        return;
      }
      toast('Copied', 'ok');
      staged = null;
      btn.hidden = true;
      post('/api/clipboard/consume', {}).catch(() => {});
    });
  });
  onEvent((ev) => {
    if (ev.type.startsWith('clipboard.') || ev.type === 'task.idle' || ev.type === 'session.idle') checkClipboard();
  });
  onApi('online', () => checkClipboard({ force: true }));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') checkClipboard();
  });
}
