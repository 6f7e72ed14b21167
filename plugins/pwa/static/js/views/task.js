// One task: header (status, actions), and tabs: the live terminal with its key bar and compose
// bar, the stacked diff, the files browser, the links picker and the artifacts viewer.
import { get, enc } from '../api.js';
import { h, mount } from '../dom.js';
import { state, subscribe, onEvent, putTask, displayStatus } from '../store.js';
import { openActions, taskActions, STATUS_LABEL } from '../actions.js';
import { TerminalPane } from '../terminal.js';
import { composeBar, keyBar } from '../compose.js';
import { diffView } from './diff.js';
import { filesView, linksView, artifactsView } from './worktree.js';
import { setTitle } from '../chrome.js';
import { conflictLine, usageText } from '../marks.js';
import { watchPresence } from '../presence.js';

const TABS = [
  ['terminal', 'Terminal'], ['diff', 'Diff'], ['files', 'Files'], ['links', 'Links'], ['artifacts', 'Artifacts'],
];

/** The action sheet for task ``id``; fetches the task first when the list has not loaded it yet. */
async function openTaskActions(id) {
  let t = state.tasks.get(id);
  if (!t) {
    try {
      t = (await get(`/api/tasks/${enc(id)}`)).task;
    } catch {
      return;
    }
    if (t) putTask(t);
  }
  if (t) openActions(t);
}

export function taskView(main, params, query) {
  const id = params.id;
  const cleanups = [watchPresence(id)];
  const status = h('span.status-chip');
  const meta = h('span.task-meta.small');
  const streamState = h('span.stream-state.small.muted');
  const quick = h('span.quick');
  const marks = h('div.task-marks');
  const tabButtons = new Map();
  const panels = new Map();

  const termBox = h('div.term#terminal', { 'aria-label': 'Agent terminal' });
  const termPanel = h('div.tab-panel.terminal-panel', { dataset: { tab: 'terminal' } },
    h('div.term-tools',
      streamState, h('span.grow'),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Smaller text', tabindex: '-1',
        on: { pointerdown: (e) => e.preventDefault(), click: () => pane && pane.zoom(-1) } }, 'A−'),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Larger text', tabindex: '-1',
        on: { pointerdown: (e) => e.preventDefault(), click: () => pane && pane.zoom(1) } }, 'A+')),
    termBox,
    keyBar(id),
    composeBar(id, () => (state.tasks.get(id) || {}).project || ''));
  panels.set('terminal', { el: termPanel });

  const diff = diffView(id);
  const files = filesView(id);
  const links = linksView(id);
  const artifacts = artifactsView(id);
  for (const [key, view] of [['diff', diff], ['files', files], ['links', links], ['artifacts', artifacts]]) {
    panels.set(key, { el: h('div.tab-panel', { dataset: { tab: key } }, view.el), view });
  }

  const tabBar = h('div.tabs', { role: 'tablist' }, TABS.map(([key, label]) => {
    const b = h('button.tab', { type: 'button', role: 'tab', dataset: { tab: key },
      on: { click: () => select(key) } }, label);
    tabButtons.set(key, b);
    return b;
  }));

  const header = h('div.task-head',
    h('a.icon-btn.back', { href: '/', 'data-link': '', 'aria-label': 'Back to tasks' }, '‹'),
    h('div.task-title', status, meta),
    quick,
    h('button.icon-btn#task-actions', { type: 'button', 'aria-label': 'Task actions',
      on: { click: () => openTaskActions(id) } }, '⋯'));

  mount(main, h('section.task-view', { dataset: { taskId: id } }, header, marks, tabBar,
    h('div.tab-panels', [...panels.values()].map((p) => p.el))));

  let pane = null;
  let currentTab = 'terminal';

  // Keep the open tab current: new artifacts and links appear, the diff follows the agent's turns.
  const REFRESH = { 'artifact.': 'artifacts', 'link.': 'links', 'task.idle': 'diff', 'session.idle': 'diff' };
  cleanups.push(onEvent((ev) => {
    const d = ev.data || {};
    if ((d.task_id || d.id || (d.task && d.task.id)) !== id) return;
    for (const [prefix, tab] of Object.entries(REFRESH)) {
      if (ev.type.startsWith(prefix) && currentTab === tab) panels.get(tab).view.load();
    }
  }));

  function select(key) {
    currentTab = key;
    for (const [k, b] of tabButtons) b.setAttribute('aria-selected', String(k === key));
    for (const [k, p] of panels) p.el.hidden = k !== key;
    const p = panels.get(key);
    if (p.view) p.view.load();
    if (key === 'terminal' && pane) pane.scheduleFit(0);
    const url = key === 'terminal' ? `/task/${enc(id)}` : `/task/${enc(id)}?tab=${key}`;
    history.replaceState(null, '', url);
  }

  function renderHead() {
    const t = state.tasks.get(id);
    if (!t) return;
    setTitle(t.name || t.id);
    const ds = displayStatus(t);
    status.textContent = STATUS_LABEL[ds] || ds;
    status.dataset.status = ds;
    mount(meta, [t.project, t.backend, t.model, usageText(t.usage)].filter(Boolean).join(' · '));
    mount(marks, conflictLine(t, state.tasks));
    mount(quick, t.running
      ? null
      : h('button.btn.small', { type: 'button', on: { click: () => taskActions.restart(t) } },
        'Restart'));
  }
  cleanups.push(subscribe(renderHead));

  const start = (task) => {
    if (task) putTask(task);
    renderHead();
    if (!pane) {
      pane = new TerminalPane(termBox, id, {
        onStatus: (text, kind) => { streamState.textContent = text; streamState.dataset.kind = kind; },
      });
      pane.start();
      if (window.argus) window.argus.terminal = pane; // for the console and the browser tests
    }
  };

  select(TABS.some(([k]) => k === query.get('tab')) ? query.get('tab') : 'terminal');
  if (state.tasks.has(id)) start();
  get(`/api/tasks/${enc(id)}`).then((out) => start(out.task || out)).catch((err) => {
    if (!state.tasks.has(id)) {
      mount(main, h('section.page', h('h2', 'Task not found'), h('p.error', err.message),
        h('a.btn', { href: '/', 'data-link': '' }, 'Back to tasks')));
    }
  });

  return () => {
    for (const fn of cleanups) fn();
    if (pane) pane.dispose();
    if (window.argus && window.argus.terminal === pane) window.argus.terminal = null;
    if (artifacts.dispose) artifacts.dispose();
    if (diff.dispose) diff.dispose();
    setTitle('');
  };
}
