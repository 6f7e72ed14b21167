// Presence for Web Push: while a task is on screen (and the app visible) this tab tells the daemon,
// so the phone does not buzz for the agent you are already looking at.
import { post } from './api.js';

const EVERY_MS = 30_000;

function clientId() {
  let id = sessionStorage.getItem('argus.clientId');
  if (!id) {
    id = Math.random().toString(36).slice(2, 10);
    sessionStorage.setItem('argus.clientId', id);
  }
  return id;
}

function report(taskId) {
  post('/api/push/presence', { task_id: taskId, client: clientId() }).catch(() => {}); // 404: push is off
}

/** Report ``taskId`` as watched until the returned cleanup runs. */
export function watchPresence(taskId) {
  const tick = () => report(document.visibilityState === 'visible' ? taskId : null);
  tick();
  const timer = setInterval(tick, EVERY_MS);
  document.addEventListener('visibilitychange', tick);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', tick);
    report(null);
  };
}

/** Hand the token to the service worker (for notification action buttons); null forgets it. */
export function shareTokenWithWorker(token) {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready.then((reg) => {
    if (reg.active) reg.active.postMessage({ type: 'argus-token', token: token || null });
  }).catch(() => {});
}
