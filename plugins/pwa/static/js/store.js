// The app's live state: tasks, projects, backends, whether the token is master, and the event
// stream that keeps them current (with resync when the cursor fell out of the daemon's ring).
import { get, on as onApi, emit as emitApi } from './api.js';
import { openSSE } from './sse.js';

const subscribers = new Set();
const eventSubscribers = new Set();

export const state = {
  tasks: new Map(),
  projects: [],
  backends: [],
  isMaster: false,
  showArchived: false,
  loaded: false,
  connected: false,
};

let lastSeq = null;
let conn = null;
let retryTimer = null;
let retryDelay = 500;
let running = false;

/** Call fn() whenever the state changes; returns an unsubscribe function. */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/** Call fn(event) for every bus event ({id, type, ts, data}); returns an unsubscribe function. */
export function onEvent(fn) {
  eventSubscribers.add(fn);
  return () => eventSubscribers.delete(fn);
}

let notifyQueued = false;
function changed() {
  if (notifyQueued) return;
  notifyQueued = true;
  queueMicrotask(() => {
    notifyQueued = false;
    for (const fn of subscribers) fn(state);
  });
}

/** Store or replace one task. */
export function putTask(task) {
  if (!task || !task.id) return;
  state.tasks.set(task.id, task);
  changed();
}

/** Forget one task. */
export function dropTask(id) {
  state.tasks.delete(id);
  changed();
}

/** Re-fetch tasks (and projects/backends): the snapshot after a resync or a reconnect. */
export async function refresh() {
  const q = state.showArchived ? '?archived=all' : '';
  const [tasks, projects, backends] = await Promise.all([
    get(`/api/tasks${q}`),
    get('/api/projects').catch(() => ({ projects: [] })),
    get('/api/backends').catch(() => ({ backends: [] })),
  ]);
  state.tasks = new Map((tasks.tasks || []).map((t) => [t.id, t]));
  state.projects = projects.projects || [];
  state.backends = backends.backends || [];
  state.loaded = true;
  changed();
}

let masterKnown = null;

/** Find out whether the stored token is the master token (token list is master-only). */
export function detectMaster() {
  masterKnown = (async () => {
    try {
      await get('/api/tokens');
      state.isMaster = true;
    } catch (err) {
      state.isMaster = false;
      if (err.status !== 403) throw err;
    }
    changed();
  })();
  return masterKnown;
}

/** Resolves once we know whether the token is the master token (views with master-only parts). */
export function whenMasterKnown() {
  return (masterKnown || detectMaster()).catch(() => {});
}

function handle(msg) {
  if (msg.id !== null && msg.id !== undefined && msg.id !== '') {
    const n = Number(msg.id);
    if (!Number.isNaN(n)) lastSeq = n;
  }
  if (msg.event === 'resync') {
    refresh().catch(() => {});
    return;
  }
  let ev;
  try { ev = JSON.parse(msg.data); } catch { return; }
  const type = ev.type || msg.event;
  const data = ev.data || {};
  if (type === 'task.created' || type === 'task.updated') {
    if (data.task) {
      if (data.task.archived && !state.showArchived) dropTask(data.task.id);
      else putTask(data.task);
    }
  } else if (type === 'task.deleted') {
    dropTask(data.id || (data.task && data.task.id));
  } else if (type === 'task.idle') {
    const t = state.tasks.get(data.id);
    if (t) putTask({ ...t, idle: true });
  } else if (type.startsWith('project.') || type.startsWith('backend.')) {
    refresh().catch(() => {});
  }
  for (const fn of eventSubscribers) fn({ ...ev, type });
}

function setConnected(v) {
  if (state.connected !== v) {
    state.connected = v;
    changed();
  }
}

function connect() {
  clearTimeout(retryTimer);
  if (!running) return;
  const q = lastSeq === null ? '' : `?since=${lastSeq}`;
  let opened = false;
  conn = openSSE(`/api/events/stream${q}`, {
    onOpen() {
      opened = true;
      retryDelay = 500;
      setConnected(true);
      // Whatever happened while we were away, the snapshot is the truth.
      refresh().catch(() => {});
    },
    onMessage: handle,
    onClose({ reason, status }) {
      conn = null;
      setConnected(false);
      if (reason === 'abort' || !running) return;
      if (reason === 'http' && status === 401) return; // login takes over
      if (reason === 'network' && !opened) emitApi('offline', new Error('event stream unreachable'));
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 5000);
    },
  });
}

/** Start the live stream (idempotent). */
export function start() {
  if (running) return;
  running = true;
  connect();
}

/** Stop the live stream (logout). */
export function stop() {
  running = false;
  clearTimeout(retryTimer);
  if (conn) conn.close();
  conn = null;
  lastSeq = null;
  masterKnown = null;
  state.isMaster = false;
  state.tasks = new Map();
  state.loaded = false;
  setConnected(false);
}

/** Reconnect now (called when the daemon is reachable again). */
export function reconnect() {
  if (!running) return;
  if (conn) conn.close();
  retryDelay = 500;
  connect();
}

onApi('online', () => reconnect());

/** Status order used for sorting: who needs you first. */
export function displayStatus(task) {
  if (task.status === 'in_progress' && task.idle) return 'needs_you';
  return task.status;
}

const ORDER = { needs_you: 0, in_review: 1, in_progress: 2, limit: 2, pending: 3, complete: 4 };

/** Sort tasks: needs-you first, then by status, then newest first (stable while they work). */
export function sortTasks(list) {
  return list.sort((a, b) => {
    const d = (ORDER[displayStatus(a)] ?? 9) - (ORDER[displayStatus(b)] ?? 9);
    if (d) return d;
    return String(b.created_at || '').localeCompare(String(a.created_at || '')) || String(a.id).localeCompare(b.id);
  });
}
