// The task list, mirroring the TUI: a Pinned section, then one folder per project; inside each,
// tasks whose agent waits for you come first. Live: it re-renders on every store change.
import { h, mount, ago } from '../dom.js';
import { enc } from '../api.js';
import { state, subscribe, refresh, displayStatus, sortTasks } from '../store.js';
import { openActions, STATUS_LABEL, limitWords, taskActions } from '../actions.js';
import { conflictBadge, usageText } from '../marks.js';

const COLLAPSE_KEY = 'argus.collapsed';
const ICON = { needs_you: '◐', in_review: '◑', in_progress: '●', pending: '○', complete: '✓', limit: '⧗' };

function collapsed() {
  try { return new Set(JSON.parse(localStorage.getItem(COLLAPSE_KEY) || '[]')); } catch { return new Set(); }
}

function toggleCollapsed(key) {
  const set = collapsed();
  if (set.has(key)) set.delete(key); else set.add(key);
  localStorage.setItem(COLLAPSE_KEY, JSON.stringify([...set]));
}

function row(t, selectedId) {
  const ds = displayStatus(t);
  const meta = [t.backend, t.model].filter(Boolean).join(' · ');
  const used = usageText(t.usage);
  const clash = conflictBadge(t, state.tasks);
  return h('li.task-row', { dataset: { taskId: t.id, status: ds }, class: t.id === selectedId ? 'selected' : null },
    h('a.task-link', { href: `/task/${enc(t.id)}`, 'data-link': '' },
      h('span.status-ico', { title: STATUS_LABEL[ds] || ds, 'aria-label': STATUS_LABEL[ds] || ds }, ICON[ds] || '•'),
      h('span.task-main',
        h('span.task-name', t.name || t.slug || t.id,
          t.sandbox && t.sandbox.sandboxed
            ? h('span.lock', { title: `sandboxed (${t.sandbox.backend || 'sandbox'})`, 'aria-label': 'sandboxed' }, ' 🔒')
            : null),
        h('span.task-meta', meta, t.archived ? ' · archived' : '', t.running ? '' : ' · no session'),
        used || clash ? h('span.task-extra', used ? h('span.task-usage', used) : null, clash) : null),
      ds === 'needs_you' ? h('span.badge.attn', 'needs you') : null,
      ds === 'limit' ? h('span.badge.limit', { title: 'Usage limit: Argus types the continue message then' },
        limitWords(t)) : null,
      h('span.task-age', ago(t.updated_at || t.created_at))),
    ds === 'limit' && t.limit_resume_at
      ? h('button.icon-btn.limit-cancel', { type: 'button', title: 'Do not resume after the usage limit',
        'aria-label': `Cancel the limit resume of ${t.name}`,
        on: { click: (e) => { e.stopPropagation(); taskActions.cancelLimit(t); } } }, '⊘')
      : null,
    h('button.icon-btn.more', { type: 'button', 'aria-label': `Actions for ${t.name}`,
      on: { click: (e) => { e.stopPropagation(); openActions(t); } } }, '⋯'));
}

function section(key, title, tasks, selectedId, extraClass = '') {
  const isCollapsed = collapsed().has(key);
  const needs = tasks.filter((t) => displayStatus(t) === 'needs_you').length;
  return h(`section.group${extraClass}`, { dataset: { group: key } },
    h('button.group-head', {
      type: 'button', 'aria-expanded': String(!isCollapsed),
      on: { click: () => { toggleCollapsed(key); renderList(); } },
    },
    h('span.caret', isCollapsed ? '▸' : '▾'), h('span.grow', title),
    needs ? h('span.badge.attn', String(needs)) : null,
    h('span.count', String(tasks.length))),
    isCollapsed ? null : h('ul.tasks', sortTasks(tasks).map((t) => row(t, selectedId))));
}

let root = null;
let filterText = '';
let showWorkers = false;

function renderList() {
  if (!root) return;
  const selectedId = (location.pathname.match(/^\/task\/([^/]+)/) || [])[1];
  const q = filterText.toLowerCase();
  const everything = [...state.tasks.values()];
  // Hera's workers live in the Hera view; like the TUI, the list hides them unless asked.
  const workers = everything.filter((t) => t.hidden).length;
  root.querySelector('.workers-toggle').hidden = !workers;
  const all = everything.filter((t) => (state.showArchived || !t.archived)
    && (showWorkers || !t.hidden)
    && (!q || `${t.name} ${t.project} ${t.prompt}`.toLowerCase().includes(q)));
  const pinned = all.filter((t) => t.pinned);
  const byProject = new Map();
  for (const t of all) {
    if (t.pinned) continue;
    const p = t.project || '(no project)';
    if (!byProject.has(p)) byProject.set(p, []);
    byProject.get(p).push(t);
  }
  const groups = [];
  if (pinned.length) groups.push(section('★pinned', '★ Pinned', pinned, selectedId, '.pinned'));
  for (const name of [...byProject.keys()].sort()) {
    groups.push(section(`p:${name}`, name, byProject.get(name), selectedId));
  }
  const list = root.querySelector('.groups');
  const scroll = list.scrollTop;
  if (!state.loaded) {
    mount(list, h('p.muted.pad', 'Loading…'));
  } else if (!groups.length) {
    mount(list, h('div.empty',
      h('p', q ? 'No task matches.' : 'No tasks yet.'),
      state.projects.length
        ? h('a.btn.primary', { href: '/new', 'data-link': '' }, 'New task')
        : h('p.muted', 'Add a project under ', h('a', { href: '/settings', 'data-link': '' }, 'Settings'),
          ' first.')));
  } else {
    mount(list, groups);
  }
  list.scrollTop = scroll;
  const needs = all.filter((t) => displayStatus(t) === 'needs_you').length;
  const summary = root.querySelector('.list-summary');
  summary.textContent = `${all.length} task${all.length === 1 ? '' : 's'}${needs ? ` · ${needs} need you` : ''}`;
}

/** Mount the task list into the (persistent) list pane. */
export function mountTaskList(pane) {
  root = pane;
  const filter = h('input.filter', { type: 'search', placeholder: 'Filter tasks', 'aria-label': 'Filter tasks',
    on: { input: (e) => { filterText = e.target.value; renderList(); } } });
  const archived = h('input', { type: 'checkbox', checked: state.showArchived, on: {
    change: (e) => { state.showArchived = e.target.checked; refresh().catch(() => {}); } } });
  const workers = h('input', { type: 'checkbox', on: {
    change: (e) => { showWorkers = e.target.checked; renderList(); } } });
  mount(pane,
    h('div.list-tools', filter, h('label.check.small', archived, 'Archived'),
      h('label.check.small.workers-toggle', { hidden: true }, workers, 'Workers')),
    h('div.list-summary.muted.small'),
    h('div.groups'));
  subscribe(renderList);
  renderList();
}

/** Re-render (selection highlight follows the route). */
export function refreshList() {
  renderList();
}
