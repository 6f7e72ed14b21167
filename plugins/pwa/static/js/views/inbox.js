// "Needs you": every task waiting for input, with the end of its screen and, when the agent asks a
// yes/no question or shows a permission menu, one-tap answers (the same as the notification's).
import { get, post } from '../api.js';
import { h, mount, toast } from '../dom.js';
import { onEvent } from '../store.js';

export function inboxView(main) {
  const list = h('ul.rows#inbox-list');
  let timer = 0;
  let alive = true;

  async function answer(item, action) {
    try {
      await post('/api/push/action', { task_id: item.id, action, prompt: item.prompt.id });
      toast(`${action === 'approve' ? 'Approved' : 'Denied'}: ${item.name}`, 'ok');
    } catch (err) {
      toast(err.message, 'error');
    }
    load();
  }

  function row(item) {
    return h('li.inbox-item', { dataset: { taskId: item.id } },
      h('div.grow',
        h('a', { href: item.url, 'data-link': '' }, h('strong', item.name), ' ', h('span.muted.small', item.project)),
        h('pre.small.excerpt', item.body || 'Waiting for you')),
      item.prompt ? h('div.row',
        h('button.btn.small.primary.inbox-approve', { type: 'button', on: { click: () => answer(item, 'approve') } },
          'Approve'),
        h('button.btn.small.inbox-deny', { type: 'button', on: { click: () => answer(item, 'deny') } }, 'Deny'))
        : null);
  }

  async function load() {
    if (!alive) return;
    try {
      const out = await get('/api/push/inbox');
      const items = out.tasks || [];
      mount(list, items.length ? items.map(row) : h('li.muted', 'Nobody is waiting for you.'));
    } catch (err) {
      mount(list, h('li.error', err.status === 404 ? 'The push plugin is not loaded.' : err.message));
    }
  }

  const off = onEvent((ev) => {
    if (!String(ev.type || '').startsWith('task.')) return;
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
  mount(main, h('section.page.inbox', h('div.row', h('h2.grow', 'Needs you'),
    h('button.btn.small', { type: 'button', on: { click: load } }, 'Refresh')), list));
  load();
  return () => { alive = false; off(); clearTimeout(timer); };
}
