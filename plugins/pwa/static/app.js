// Argus PWA entry: wires the router, the session (token, live store), the offline screen,
// and the service worker. Views live in js/views/*.
import { get, getToken, clearToken, on as onApi } from './js/api.js';
import * as store from './js/store.js';
import * as offline from './js/offline.js';
import { route, navigate, render, start as startRouter, setOnChange } from './js/router.js';
import { h, mount } from './js/dom.js';
import { initChrome, checkClipboard, setTitle } from './js/chrome.js';
import { mountTaskList, refreshList } from './js/views/tasklist.js';
import { loginView } from './js/views/login.js';
import { newTaskView } from './js/views/newtask.js';
import { taskView } from './js/views/task.js';
import { settingsView } from './js/views/settings.js';
import { tokensView, logsView } from './js/views/admin.js';
import { heraListView, heraRoleView, heraEnabled } from './js/views/hera.js';
import { notesView } from './js/views/notes.js';
import { shareTokenWithWorker } from './js/presence.js';
import { inboxView } from './js/views/inbox.js';

const main = document.getElementById('main-pane');
const listPane = document.getElementById('list-pane');
let sessionStarted = false;

/** Show the Hera links only while native Hera is on (they follow the setting live). */
async function syncHeraLinks() {
  const on = await heraEnabled();
  for (const a of document.querySelectorAll('a[data-tab="hera"]')) a.hidden = !on;
}

store.onEvent((ev) => {
  if (ev.type === 'hera.enabled') syncHeraLinks();
});

function startSession() {
  if (sessionStarted) return;
  sessionStarted = true;
  syncHeraLinks();
  shareTokenWithWorker(getToken());
  store.start();
  store.detectMaster().catch(() => {});
  checkClipboard();
}

function logout(reason = 'logout') {
  clearToken();
  shareTokenWithWorker(null);
  store.stop();
  sessionStarted = false;
  navigate(`/login?reason=${reason}`, { replace: true });
}

/** Guard: views other than login need a token; keep where the user was going. */
function authed(view) {
  return (params, query) => {
    if (!getToken()) {
      const next = location.pathname + location.search;
      navigate(`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`, { replace: true });
      return () => {};
    }
    startSession();
    return view(main, params, query, { logout });
  };
}

route('/login', (_params, query) => {
  if (getToken() && !query.get('reason')) {
    navigate(query.get('next') || '/', { replace: true });
    return () => {};
  }
  loginView(main, query, (next) => {
    startSession();
    navigate(next, { replace: true });
  });
  return () => {};
});
route('/', authed(() => {
  mount(main, h('div.placeholder', h('img', { src: '/icons/icon-192.png', alt: '', width: 72, height: 72 }),
    h('p.muted', 'Pick a task, or start a new one.')));
  return () => {};
}));
route('/new', authed((m, p, q) => newTaskView(m, q)));
route('/task/:id', authed((m, p, q) => taskView(m, p, q)));
route('/hera', authed((m) => heraListView(m)));
route('/hera/role/:id', authed((m, p) => heraRoleView(m, p)));
route('/settings', authed(settingsView));
route('/inbox', authed((m) => inboxView(m)));
route('/tokens', authed((m) => tokensView(m)));
route('/logs', authed(logsView));
route('/notes', authed((m, p, q) => notesView(m, q)));
route('/offline', () => { navigate('/', { replace: true }); return () => {}; });

setOnChange((pattern) => {
  const view = { '/': 'list', '/login': 'login', '/new': 'new', '/task/:id': 'task', '/settings': 'settings',
    '/inbox': 'inbox', '/tokens': 'settings', '/logs': 'settings', '/hera': 'hera', '/hera/role/:id': 'hera',
    '/notes': 'notes' }[pattern] || 'other';
  document.body.dataset.view = view;
  for (const a of document.querySelectorAll('#tabbar a, #topnav a')) {
    const tab = a.dataset.tab;
    const active = (tab === 'tasks' && (view === 'list' || view === 'task')) || tab === view;
    a.toggleAttribute('aria-current', active);
  }
  if (view !== 'task') setTitle('');
  main.scrollTop = 0;
  refreshList();
});

// A token was revoked somewhere: if it was ours, the next call answers 401 and we go to login.
store.onEvent((ev) => {
  if (ev.type === 'token.revoked' && getToken()) get('/api/status').catch(() => {});
});

onApi('unauthorized', () => {
  if (!getToken()) return;
  logout('revoked');
});

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  // A newer shell took over (the daemon was upgraded): offer a reload instead of forcing one.
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController || document.querySelector('.update-banner')) return;
    document.body.append(h('button.btn.primary.update-banner', { type: 'button',
      on: { click: () => location.reload() } }, 'Argus was updated · Reload'));
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
    console.warn('service worker registration failed', err);
  });
}

// iOS Safari keeps the layout height when the soft keyboard opens; size the app to the visible
// part so the compose bar stays right above the keyboard.
if (window.visualViewport) {
  const vv = window.visualViewport;
  const fit = () => document.documentElement.style.setProperty('--vvh', `${Math.round(vv.height)}px`);
  vv.addEventListener('resize', fit);
  fit();
}

offline.init();
initChrome();
mountTaskList(listPane);
startRouter();
registerServiceWorker();
window.argus = { store, navigate, render }; // handy from the console and for tests
