// The Hera screen (phone-first, live): orchestrators → their roles with status and unread counts
// (/hera), and one role (/hera/role/:id): its agent's live terminal, its messages, a box to send
// it a message as the user, and the role actions (status, pin, archive, rename, re-attach, delete).
// Everything comes from /api/hera/... and is re-fetched on hera.* events.
import { get, post, api, del, enc } from '../api.js';
import { h, mount, toast, ago, confirmDialog, promptDialog } from '../dom.js';
import { onEvent } from '../store.js';
import { TerminalPane } from '../terminal.js';
import { setTitle } from '../chrome.js';
import { navigate } from '../router.js';

const GLYPH = { idle: '○', working: '●', blocked: '■', done: '✓' };

/** Whether native Hera is on (the Hera links are hidden when it is not). */
export async function heraEnabled() {
  try {
    return !!(await get('/api/hera')).enabled;
  } catch {
    return false;
  }
}

function roleRow(r) {
  return h('li.hera-role', { dataset: { roleId: r.id, status: r.status } },
    h('a.task-link', { href: `/hera/role/${enc(r.id)}`, 'data-link': '' },
      h('span.status-ico', { title: r.status }, GLYPH[r.status] || '•'),
      h('span.task-main',
        h('span.task-name', r.name),
        h('span.task-meta', `${r.kind} · ${r.status}`, r.bound ? '' : ' · unbound', r.pinned ? ' · ★' : '')),
      r.unread ? h('span.badge.attn', { title: 'unread messages' }, String(r.unread)) : null));
}

/** /hera: every orchestrator with its roles. */
export function heraListView(main) {
  setTitle('Hera');
  let alive = true;
  async function load() {
    let body;
    try {
      body = await get('/api/hera');
    } catch (err) {
      mount(main, h('section.page', h('h2', 'Hera'), h('p.error', err.message)));
      return;
    }
    if (!alive) return;
    if (!body.enabled) {
      mount(main, h('section.page', h('h2', 'Hera'),
        h('p.muted', 'Native Hera is switched off ([hera] enabled = false in Settings).')));
      return;
    }
    const orchs = body.orchestrators || [];
    const active = orchs.filter((o) => !o.archived);
    const archived = orchs.filter((o) => o.archived);
    const card = (o) => h('section.card.hera-orch', { dataset: { orchId: o.id } },
      h('h3', o.pinned ? '★ ' : '', o.name, o.unread ? h('span.badge.attn', ` ${o.unread}`) : null),
      h('ul.tasks', (o.roles || []).filter((r) => !r.archived).map(roleRow)),
      (o.roles || []).some((r) => r.archived)
        ? h('details', h('summary', 'Archived roles'), h('ul.tasks', o.roles.filter((r) => r.archived).map(roleRow)))
        : null);
    mount(main, h('section.page.hera',
      h('h2', 'Hera'),
      active.length ? active.sort((a, b) => Number(b.pinned) - Number(a.pinned)).map(card)
        : h('p.muted', 'No orchestrators yet: an agent creates one with the hera_new_orchestrator tool.'),
      archived.length ? h('details', h('summary', `Archive (${archived.length})`), archived.map(card)) : null));
  }
  const off = onEvent((ev) => { if (ev.type.startsWith('hera.')) load(); });
  load();
  return () => { alive = false; off(); };
}

/** /hera/role/:id: one role's terminal, messages, send box and actions. */
export function heraRoleView(main, params) {
  const id = params.id;
  let pane = null;
  let role = null;
  const head = h('div.task-head');
  const termBox = h('div.term.hera-term', { 'aria-label': 'Agent terminal' });
  const list = h('ul.hera-messages');
  const subject = h('input', { type: 'text', placeholder: 'Subject (optional)', 'aria-label': 'Subject' });
  const body = h('textarea', { rows: 3, placeholder: 'Message', 'aria-label': 'Message' });
  const form = h('form.hera-send', { on: { submit: (e) => { e.preventDefault(); send(); } } },
    subject, body, h('button.btn.primary', { type: 'submit' }, 'Send'));

  async function send() {
    if (!body.value.trim()) { toast('Write a message first', 'error'); return; }
    try {
      await post(`/api/hera/roles/${enc(id)}/messages`, { subject: subject.value, body: body.value });
      subject.value = '';
      body.value = '';
      toast('Sent', 'ok');
      loadMessages();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function act(fn, done) {
    try {
      await fn();
      if (done) toast(done, 'ok');
      loadRole();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  const patch = (json) => api(`/api/hera/roles/${enc(id)}`, { method: 'PATCH', json });
  const actions = () => h('div.row.wrap.hera-actions',
    h('button.btn.small', { type: 'button', on: { click: () => act(() => post(`/api/hera/roles/${enc(id)}/status`, { step: -1 })) } }, '◀ Status'),
    h('button.btn.small', { type: 'button', on: { click: () => act(() => post(`/api/hera/roles/${enc(id)}/status`, { step: 1 })) } }, 'Status ▶'),
    h('button.btn.small', { type: 'button', on: { click: () => act(() => patch({ pinned: null })) } }, role && role.pinned ? 'Unpin' : 'Pin'),
    h('button.btn.small', { type: 'button', on: { click: () => act(() => patch({ archived: null })) } }, role && role.archived ? 'Unarchive' : 'Archive'),
    h('button.btn.small', { type: 'button', on: { click: async () => {
      const name = await promptDialog('Rename role', 'Name', role ? role.name : '');
      if (name) act(() => patch({ name }), 'Renamed');
    } } }, 'Rename'),
    h('button.btn.small', { type: 'button', on: { click: () => act(async () => {
      const out = await post(`/api/hera/roles/${enc(id)}/reattach`, {});
      if (out.resumed && pane) { pane.dispose(); pane = null; startPane(); }
    }, 'Re-attached') } }, 'Re-attach'),
    h('button.btn.small.danger', { type: 'button', on: { click: async () => {
      const worker = role && role.kind === 'worker';
      const ok = await confirmDialog('Delete role', `Delete ${role ? role.name : 'this role'}${worker ? ' and its task' : ''}?`, 'Delete', true);
      if (!ok) return;
      try {
        await del(`/api/hera/roles/${enc(id)}${worker ? '?delete_task=1' : ''}`);
        navigate('/hera');
      } catch (err) { toast(err.message, 'error'); }
    } } }, 'Delete'));

  function startPane() {
    if (pane || !role || !role.task_id || !role.bound) return;
    pane = new TerminalPane(termBox, role.task_id, {});
    pane.start();
    if (window.argus) window.argus.terminal = pane; // for the console and the browser tests
  }

  async function loadRole() {
    try {
      role = (await get(`/api/hera/roles/${enc(id)}`)).role;
    } catch (err) {
      mount(main, h('section.page', h('h2', 'Role not found'), h('p.error', err.message),
        h('a.btn', { href: '/hera', 'data-link': '' }, 'Back to Hera')));
      return;
    }
    setTitle(`${role.name} · ${role.orchestrator}`);
    mount(head,
      h('a.icon-btn.back', { href: '/hera', 'data-link': '', 'aria-label': 'Back to Hera' }, '‹'),
      h('div.task-title', h('span.status-chip', { dataset: { status: role.status } }, `${GLYPH[role.status] || ''} ${role.status}`),
        h('span.task-meta.small', `${role.kind} · ${role.orchestrator}`, role.unread ? ` · ${role.unread} unread` : '')),
      role.task_id ? h('a.btn.small', { href: `/task/${enc(role.task_id)}`, 'data-link': '' }, 'Task') : null);
    mount(actionsBox, actions());
    startPane();
  }

  async function loadMessages() {
    try {
      const out = await get(`/api/hera/roles/${enc(id)}/messages`, {});
      mount(list, (out.messages || []).map((m) => h('li.hera-message', { dataset: { messageId: m.id, delivery: m.delivery } },
        h('div.row', h('strong', m.from), h('span.muted.small', `→ ${m.to} · ${ago(m.created_at)} · ${m.delivery}`)),
        h('div.hera-subject', m.subject),
        m.body !== m.subject ? h('pre.hera-body', m.body) : null)));
      if (!out.messages || !out.messages.length) mount(list, h('li.muted', 'No messages yet.'));
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }

  const actionsBox = h('div');
  mount(main, h('section.hera-role-view', { dataset: { roleId: id } }, head, actionsBox, termBox,
    h('h3.hera-h', 'Messages'), list, form));
  const off = onEvent((ev) => {
    if (!ev.type.startsWith('hera.')) return;
    const d = ev.data || {};
    if (ev.type.startsWith('hera.role') && (d.role_id === id || (d.role && d.role.id === id))) loadRole();
    if (ev.type.startsWith('hera.message') && (d.to_role === id || d.role_id === id
      || (d.message && (d.message.to_role === id || d.message.from_role === id)))) loadMessages();
  });
  loadRole();
  loadMessages();
  return () => {
    off();
    if (pane) pane.dispose();
    if (window.argus && window.argus.terminal === pane) window.argus.terminal = null;
    setTitle('');
  };
}
