// Web Push in the client: subscribe this device (under a label you choose) through the service
// worker's PushManager and register it with /api/push/*; list the subscribed devices, remove one,
// send a test. The control is hidden when the daemon has no push routes.
import { get, post, del, enc } from './api.js';
import { h, mount, toast } from './dom.js';

const SUB_KEY = 'argus.pushSubscriptionId';
const LABEL_KEY = 'argus.pushLabel';

function urlBase64ToBytes(b64) {
  const pad = '='.repeat((4 - (b64.length % 4)) % 4);
  const raw = atob((b64 + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function deviceLabel() {
  const ua = navigator.userAgent;
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android';
  if (/Mac OS X/.test(ua)) return 'Mac';
  return 'Browser';
}

/** The VAPID key, or null when push is not served (404) or unsupported here. */
export async function vapidKey() {
  try {
    const out = await get('/api/push/vapid-public-key');
    return typeof out === 'string' ? out.trim() : (out.key || out.public_key || out.vapid_public_key || null);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** The settings section for notifications; null when the daemon has no push routes. */
export async function pushSection() {
  const key = await vapidKey();
  if (!key) return null;
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && window.isSecureContext;
  const status = h('p.small.muted#push-status');
  const actions = h('div.row.wrap');
  const devices = h('ul.rows#push-devices');
  const label = h('input#push-label', { type: 'text', maxlength: 80, placeholder: 'Device label',
    'aria-label': 'Device label', value: localStorage.getItem(LABEL_KEY) || deviceLabel() });
  const section = h('section.card#push-section', h('h3', 'Notifications'),
    h('p.small', 'Get a notification on this device when an agent goes idle and needs you.'),
    status, actions, devices);

  async function listDevices(mine) {
    let list = [];
    try { list = (await get('/api/push/subscriptions')).subscriptions || []; } catch { list = []; }
    const ownId = localStorage.getItem(SUB_KEY);
    mount(devices, list.map((s) => {
      // The list shows endpoints shortened: without a remembered id, match on their tails.
      const own = ownId ? s.id === ownId : Boolean(mine && s.endpoint && mine.endpoint.endsWith(s.endpoint.slice(-6)));
      return h('li.push-device', { dataset: { subId: s.id } },
        h('div.grow', h('strong', s.label || 'Unnamed device'), own ? h('span.muted.small', ' · this device') : null,
          s.last_error ? h('div.small.error', s.last_error) : null),
        h('button.btn.push-remove', { type: 'button', on: { click: () => (own ? unsubscribe() : remove(s.id)) } },
          'Remove'));
    }));
  }

  async function remove(id) {
    try {
      await del(`/api/push/subscribe/${enc(id)}`);
      toast('Device removed', 'ok');
    } catch (err) {
      toast(err.message, 'error');
    }
    render();
  }

  async function current() {
    if (!supported) return null;
    const reg = await navigator.serviceWorker.ready;
    return reg.pushManager.getSubscription();
  }

  async function render() {
    if (!supported) {
      status.textContent = window.isSecureContext
        ? 'This browser does not support Web Push.'
        : 'Web Push needs HTTPS (for example through `tailscale serve`). Open Argus over https to enable it.';
      mount(actions);
      return;
    }
    const sub = await current();
    const perm = Notification.permission;
    const named = localStorage.getItem(LABEL_KEY);
    status.textContent = sub ? `This device is subscribed${named ? ` as “${named}”` : ''}.`
      : perm === 'denied' ? 'Notifications are blocked for this site in the browser settings.'
        : 'This device is not subscribed.';
    mount(actions,
      sub ? null : label,
      sub ? h('button.btn#push-unsubscribe', { type: 'button', on: { click: unsubscribe } }, 'Turn off')
        : h('button.btn.primary#push-subscribe', { type: 'button', disabled: perm === 'denied',
          on: { click: subscribe } }, 'Turn on'),
      h('button.btn#push-test', { type: 'button', on: { click: test } }, 'Send test'));
    await listDevices(sub);
  }

  async function subscribe() {
    try {
      const perm = await Notification.requestPermission();
      if (perm !== 'granted') {
        toast('Notifications were not allowed', 'error');
        return render();
      }
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true,
        applicationServerKey: urlBase64ToBytes(key) });
      const json = sub.toJSON();
      const name = label.value.trim() || deviceLabel();
      const out = await post('/api/push/subscribe', { label: name, endpoint: json.endpoint,
        keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
      const id = out && (out.id || (out.subscription && out.subscription.id));
      if (id) localStorage.setItem(SUB_KEY, String(id));
      localStorage.setItem(LABEL_KEY, name);
      toast('Notifications on', 'ok');
    } catch (err) {
      toast(`Could not subscribe: ${err.message}`, 'error');
    }
    render();
  }

  async function unsubscribe() {
    try {
      const sub = await current();
      let id = localStorage.getItem(SUB_KEY);
      if (!id && sub) {
        const list = await get('/api/push/subscriptions').catch(() => ({ subscriptions: [] }));
        const mine = (list.subscriptions || []).find((s) => s.endpoint === sub.endpoint);
        if (mine) id = mine.id;
      }
      if (id) await del(`/api/push/subscribe/${enc(id)}`).catch(() => {});
      if (sub) await sub.unsubscribe();
      localStorage.removeItem(SUB_KEY);
      toast('Notifications off', 'ok');
    } catch (err) {
      toast(`Could not unsubscribe: ${err.message}`, 'error');
    }
    render();
  }

  async function test() {
    try {
      await post('/api/push/test', {});
      toast('Test notification sent', 'ok');
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  render().catch(() => {});
  return section;
}
