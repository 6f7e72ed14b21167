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

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const taskId = data.task_id || (data.task && data.task.id);
  const url = data.url || (taskId ? `/task/${encodeURIComponent(taskId)}` : '/');
  event.waitUntil(self.registration.showNotification(data.title || 'Argus', {
    body: data.body || '',
    icon: '/icons/icon-192.png',
    badge: '/icons/favicon-32.png',
    tag: data.tag || taskId || 'argus',
    data: { url },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/';
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
