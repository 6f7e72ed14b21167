// Scheduled tasks in Settings: list with next/last run and last error, create (with a preview of
// the next three fire times), toggle, run now, delete. Hidden when the daemon has no scheduler.
import { get, post, put, del, enc } from './api.js';
import { h, mount, toast, confirmDialog, ago } from './dom.js';

function when(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** The schedules card, or null when ``/api/schedules`` is not served. */
export async function schedulesCard() {
  try {
    await get('/api/schedules');
  } catch (err) {
    if (err.status === 404) return null;
  }
  const list = h('ul.rows#schedules-list');
  const name = h('input#sched-name', { name: 'name', placeholder: 'name', required: true, 'aria-label': 'Schedule name' });
  const project = h('select#sched-project', { name: 'project', required: true, 'aria-label': 'Project' });
  const prompt = h('textarea#sched-prompt', { name: 'prompt', rows: 3, placeholder: 'What the agent should do', required: true,
    'aria-label': 'Prompt' });
  const kind = h('select#sched-kind', { 'aria-label': 'Kind' }, h('option', { value: 'cron' }, 'Repeat'),
    h('option', { value: 'once' }, 'Once'));
  const expr = h('input#sched-expr', { placeholder: '0 9 * * 1-5 · @daily · @every 30m', autocapitalize: 'off',
    spellcheck: 'false', 'aria-label': 'Schedule expression' });
  const once = h('input#sched-once', { type: 'datetime-local', hidden: true, 'aria-label': 'Run once at' });
  const preview = h('p.small.muted#sched-preview');
  let timer = 0;

  async function loadProjects() {
    try {
      const out = await get('/api/projects');
      const names = (out.projects || []).map((p) => (typeof p === 'string' ? p : p.name));
      mount(project, names.map((n) => h('option', { value: n }, n)));
    } catch { /* the list shows the error */ }
  }

  async function showPreview() {
    if (kind.value === 'once') {
      preview.textContent = once.value ? `Runs once: ${when(new Date(once.value).toISOString())}` : '';
      return;
    }
    const value = expr.value.trim();
    if (!value) { preview.textContent = ''; return; }
    try {
      const out = await get(`/api/schedules/preview?schedule=${enc(value)}`);
      preview.textContent = `Next: ${(out.next || []).map(when).join(' · ')}`;
      preview.classList.remove('error');
    } catch (err) {
      preview.textContent = err.message;
      preview.classList.add('error');
    }
  }
  expr.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(showPreview, 250); });
  once.addEventListener('input', showPreview);
  kind.addEventListener('change', () => {
    expr.hidden = kind.value === 'once';
    once.hidden = kind.value !== 'once';
    showPreview();
  });

  async function act(fn, ok) {
    try { await fn(); if (ok) toast(ok, 'ok'); } catch (err) { toast(err.message, 'error'); }
    load();
  }

  function row(s) {
    const what = s.run_once_at ? `once at ${when(s.run_once_at)}` : s.schedule;
    return h('li', { dataset: { scheduleId: s.id, enabled: s.enabled ? '1' : '' } },
      h('div.grow',
        h('strong', s.name), ' ', h('code', what), s.enabled ? null : h('span.tag', 'off'),
        h('div.muted.small', `${s.project} · next ${when(s.next_run_at)}`,
          s.last_run_at ? ` · last ${ago(s.last_run_at)} ago` : ''),
        s.last_error ? h('div.small.error', s.last_error) : null),
      h('div.row',
        h('button.btn.small.sched-toggle', { type: 'button', on: { click: () => act(
          () => put(`/api/schedules/${enc(s.id)}`, { enabled: !s.enabled }), s.enabled ? 'Schedule off' : 'Schedule on') } },
        s.enabled ? 'Turn off' : 'Turn on'),
        h('button.btn.small.sched-run', { type: 'button', on: { click: () => act(async () => {
          const out = await post(`/api/schedules/${enc(s.id)}/run`, {});
          toast(`Started ${out.task_id}`, 'ok');
        }) } }, 'Run now'),
        h('button.btn.small.danger.sched-delete', { type: 'button', on: { click: async () => {
          if (!await confirmDialog('Delete schedule?', `Delete "${s.name}"? Tasks it created stay.`, 'Delete', true)) return;
          act(() => del(`/api/schedules/${enc(s.id)}`), 'Schedule deleted');
        } } }, 'Delete')));
  }

  async function load() {
    try {
      const out = await get('/api/schedules');
      const items = out.schedules || [];
      mount(list, items.length ? items.map(row) : h('li.muted', 'No schedules. Tasks can start by themselves on a cron, an interval or once.'));
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }

  const form = h('form.stack#schedule-form', { on: { submit: async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), project: project.value, prompt: prompt.value };
    if (kind.value === 'once') {
      if (!once.value) { toast('Pick a date and time', 'error'); return; }
      body.run_once_at = new Date(once.value).toISOString().replace(/\.\d+Z$/, 'Z');
    } else {
      body.schedule = expr.value.trim();
    }
    try {
      await post('/api/schedules', body);
      toast(`Schedule ${body.name} created`, 'ok');
      form.reset();
      preview.textContent = '';
      load();
    } catch (err) { toast(err.message, 'error'); }
  } } }, h('div.grid2', name, project), prompt, h('div.grid2', kind, h('div', expr, once)), preview,
  h('div.row.end', h('button.btn.primary', { type: 'submit' }, 'Create schedule')));

  loadProjects();
  load();
  return h('section.card#schedules-section', { dataset: { section: 'scheduled-tasks' } }, h('h3', 'Scheduled tasks'),
    list, h('details', h('summary', 'New schedule'), form));
}
