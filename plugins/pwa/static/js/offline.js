// The offline screen: shown when the daemon cannot be reached, probing until it answers again.
import { api, emit, on, OfflineError } from './api.js';

let probing = false;
let timer = null;
let delay = 1000;

const el = () => document.getElementById('offline');

/** Whether the offline screen is up. */
export function isOffline() {
  return !el().hidden;
}

async function probe() {
  timer = null;
  const status = document.getElementById('offline-status');
  try {
    // Any answer from the daemon (even 401) means it is back; api() sorts out what follows.
    await api('/api/status', { quiet: true });
    back();
  } catch (err) {
    if (!(err instanceof OfflineError)) {
      back();
      if (err.status === 401) emit('unauthorized', err);
      return;
    }
    if (status) status.textContent = `Retrying in ${Math.round(delay / 1000)} s…`;
    timer = setTimeout(probe, delay);
    delay = Math.min(delay * 1.5, 5000);
  }
}

function back() {
  probing = false;
  delay = 1000;
  el().hidden = true;
  document.body.classList.remove('is-offline');
  emit('online');
}

/** Flip to the offline screen and start probing (idempotent). */
export function goOffline() {
  if (probing) return;
  probing = true;
  delay = 1000;
  el().hidden = false;
  document.body.classList.add('is-offline');
  document.getElementById('offline-status').textContent = 'Retrying…';
  timer = setTimeout(probe, 300);
}

/** Wire the retry button and the api's offline signal. */
export function init() {
  on('offline', () => goOffline());
  document.getElementById('offline-retry').addEventListener('click', () => {
    clearTimeout(timer);
    delay = 1000;
    probe();
  });
  window.addEventListener('online', () => {
    if (probing) { clearTimeout(timer); probe(); }
  });
}
