// Argus service worker: keeps the app shell so the PWA starts (and shows its offline screen)
// when the daemon is unreachable, and shows Web Push notifications.
// The daemon stamps VERSION (a hash of the shell) and SHELL (the file list) when serving this.
const VERSION = '__SHELL_VERSION__';
const SHELL = "__SHELL_FILES__";
const CACHE = `argus-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(Array.isArray(SHELL) ? SHELL.map((u) => new Request(u, { cache: 'no-cache' })) : ['/']);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('argus-shell-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/api') return; // always the network

  if (req.mode === 'navigate') {
    // Fresh shell when the daemon answers; the cached one (and so the offline screen) when not.
    event.respondWith((async () => {
      try {
        return await fetch(req);
      } catch (err) {
        const cached = await caches.match('/', { cacheName: CACHE });
        return cached || Response.error();
      }
    })());
    return;
  }

  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    const resp = await fetch(req);
    if (resp.ok && resp.type === 'basic') cache.put(req, resp.clone());
    return resp;
  })());
});

const AUTH_CACHE = 'argus-auth';
const TOKEN_URL = '/__argus/token';

// The page hands over its token so notification buttons can answer without opening the app.
self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type !== 'argus-token') return;
  event.waitUntil((async () => {
    const cache = await caches.open(AUTH_CACHE);
    if (msg.token) await cache.put(TOKEN_URL, new Response(String(msg.token)));
    else await cache.delete(TOKEN_URL);
  })());
});

async function storedToken() {
  const hit = await (await caches.open(AUTH_CACHE)).match(TOKEN_URL);
  return hit ? hit.text() : '';
}

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const taskId = data.task_id || (data.task && data.task.id);
  const url = data.url || (taskId ? `/task/${encodeURIComponent(taskId)}` : '/');
  const options = {
    body: data.body || '',
    icon: '/icons/icon-192.png',
    badge: '/icons/favicon-32.png',
    tag: data.tag || taskId || 'argus',
    renotify: !!data.renotify,
    data: { url, taskId, prompt: data.prompt ? data.prompt.id : null },
  };
  if (Array.isArray(data.actions) && data.prompt) options.actions = data.actions.slice(0, 2);
  event.waitUntil(self.registration.showNotification(data.title || 'Argus', options));
});

// An action button (Approve / Deny): type the answer into the agent if that prompt is still there.
async function answer(data, action) {
  const token = await storedToken();
  let message;
  try {
    const resp = await fetch('/api/push/action', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ task_id: data.taskId, action, prompt: data.prompt }),
    });
    if (resp.ok) return;
    const out = await resp.json().catch(() => ({}));
    message = out.error || `HTTP ${resp.status}`;
  } catch (err) {
    message = `Argus is unreachable: ${err.message}`;
  }
  await self.registration.showNotification('Nothing was sent', {
    body: message, tag: `argus-action-${data.taskId}`, icon: '/icons/icon-192.png', data: { url: data.url },
  });
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  if (event.action && data.taskId && data.prompt) {
    event.waitUntil(answer(data, event.action));
    return;
  }
  const url = data.url || '/';
  event.waitUntil((async () => {
    const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of all) {
      if ('focus' in client) {
        await client.focus();
        if ('navigate' in client) await client.navigate(url);
        return;
      }
    }
    await self.clients.openWindow(url);
  })());
});
