// Settings: this device (token kind, log out), notifications, projects, backends (master),
// the kernel's settings sections, and sections registered by external plugins.
import { get, post, put, del, enc } from '../api.js';
import { h, mount, toast, confirmDialog } from '../dom.js';
import { state, refresh, whenMasterKnown, onEvent } from '../store.js';
import { schemaForm } from '../forms.js';
import { pushSection } from '../push.js';
import { schedulesCard } from '../schedules.js';
import { opsCards } from '../opscards.js';

function card(title, ...body) {
  return h('section.card', { dataset: { section: title.toLowerCase().replace(/\W+/g, '-') } }, h('h3', title), body);
}

function sandboxLabel(sb) {
  if (!sb || sb.enabled === null || sb.enabled === undefined) return 'sandbox: inherit';
  return sb.enabled ? '🔒 sandbox on' : 'sandbox off';
}

// A project's sandbox object (master token only: the daemon answers 403 to a device token).
function projectSandboxForm(p, reload) {
  const sb = p.sandbox || {};
  const tri = (value, on, off) => (value === true ? on : value === false ? off : 'inherit');
  const select = (name, value, options) => h('select', { name, 'aria-label': name },
    options.map((o) => h('option', { value: o, selected: o === value }, o)));
  const enabled = select('enabled', tri(sb.enabled, 'enabled', 'disabled'), ['inherit', 'enabled', 'disabled']);
  const network = select('network', tri(sb.network, 'on', 'off'), ['inherit', 'on', 'off']);
  const list = (name, value) => h('input', { name, value: (value || []).join(', '), placeholder: 'comma-separated paths',
    autocapitalize: 'off', spellcheck: 'false', 'aria-label': name });
  const denyRead = list('deny_read', sb.deny_read);
  const extraWrite = list('extra_write', sb.extra_write);
  const locked = !state.isMaster;
  for (const el of [enabled, network, denyRead, extraWrite]) el.disabled = locked;
  const split = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const flag = (v, on) => (v === 'inherit' ? null : v === on);
  return h('form.stack.sandbox-form', { on: { submit: async (e) => {
    e.preventDefault();
    const body = { sandbox: { ...sb, enabled: flag(enabled.value, 'enabled'), network: flag(network.value, 'on'),
      deny_read: split(denyRead.value), extra_write: split(extraWrite.value) } };
    try {
      await put(`/api/projects/${enc(p.name)}`, body);
      toast(`Sandbox of ${p.name} saved`, 'ok');
      reload();
    } catch (err) { toast(err.message, 'error'); }
  } } },
  locked ? h('p.small.muted', 'Master token required to change a project\'s sandbox.') : null,
  h('label', 'Sandbox', enabled), h('label', 'Network', network),
  h('label', 'Deny read (added to the global list)', denyRead),
  h('label', 'Extra write (added to the global list)', extraWrite),
  locked ? null : h('div.row.end', h('button.btn.small.primary', { type: 'submit' }, 'Save sandbox')));
}

function projectsCard() {
  const list = h('ul.rows#projects-list');
  const name = h('input', { name: 'name', placeholder: 'name', required: true, autocapitalize: 'off', 'aria-label': 'Project name' });
  const path = h('input', { name: 'path', placeholder: '/absolute/path/to/repo', required: true, autocapitalize: 'off',
    spellcheck: 'false', 'aria-label': 'Repository path' });
  const branch = h('input', { name: 'branch', placeholder: 'base branch (optional)', autocapitalize: 'off', 'aria-label': 'Base branch' });
  const backend = h('input', { name: 'backend', placeholder: 'backend (optional)', autocapitalize: 'off', 'aria-label': 'Backend' });

  async function load() {
    try {
      const out = await get('/api/projects/full');
      const projects = out.projects || [];
      mount(list, projects.length ? projects.map((p) => h('li', { dataset: { project: p.name } },
        h('div.grow', h('strong', p.name), h('div.muted.small.path', p.path),
          h('div.muted.small', [p.branch && `branch ${p.branch}`, p.backend && `backend ${p.backend}`,
            sandboxLabel(p.sandbox)].filter(Boolean).join(' · ')),
          h('details.project-sandbox', h('summary.small', 'Sandbox'), projectSandboxForm(p, load))),
        h('button.btn.small.danger', { type: 'button', on: { click: async () => {
          if (!await confirmDialog('Delete project?', `Forget the project "${p.name}"? The repository itself is not touched.`, 'Delete', true)) return;
          try { await del(`/api/projects/${enc(p.name)}`); toast('Project deleted', 'ok'); load(); refresh().catch(() => {}); } catch (err) { toast(err.message, 'error'); }
        } } }, 'Delete')))
        : h('li.muted', 'No projects yet. Add the git repositories your agents work in.'));
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }

  const form = h('form.stack#project-form', { on: { submit: async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), path: path.value.trim() };
    if (branch.value.trim()) body.branch = branch.value.trim();
    if (backend.value.trim()) body.backend = backend.value.trim();
    try {
      await post('/api/projects', body);
      toast(`Project ${body.name} added`, 'ok');
      form.reset();
      load();
      refresh().catch(() => {});
    } catch (err) { toast(err.message, 'error'); }
  } } }, h('div.grid2', name, path), h('div.grid2', branch, backend),
  h('div.row.end', h('button.btn.primary', { type: 'submit' }, 'Add project')));
  load();
  return card('Projects', list, h('details', h('summary', 'Add a project'), form));
}

function backendsCard() {
  const list = h('ul.rows#backends-list');
  const master = state.isMaster;

  function editForm(b = {}) {
    const name = h('input', { value: b.name || '', placeholder: 'name', required: true, disabled: !!b.name, 'aria-label': 'Backend name', autocapitalize: 'off' });
    const command = h('input', { value: b.command || '', placeholder: 'command', required: true, 'aria-label': 'Command', autocapitalize: 'off', spellcheck: 'false' });
    const flag = h('input', { value: b.prompt_flag || '', placeholder: 'prompt flag (empty = positional)', 'aria-label': 'Prompt flag', autocapitalize: 'off' });
    const model = h('input', { value: b.model || '', placeholder: 'default model', 'aria-label': 'Default model', autocapitalize: 'off' });
    return h('form.stack', { on: { submit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), command: command.value.trim(), prompt_flag: flag.value, model: model.value.trim() };
      try {
        if (b.name) await put(`/api/backends/${enc(b.name)}`, body); else await post('/api/backends', body);
        toast('Backend saved', 'ok');
        load();
        refresh().catch(() => {});
      } catch (err) { toast(err.message, 'error'); }
    } } }, h('div.grid2', name, command), h('div.grid2', flag, model),
    h('div.row.end', h('button.btn.primary', { type: 'submit' }, b.name ? 'Save' : 'Add backend')));
  }

  async function load() {
    try {
      const out = await get('/api/backends');
      mount(list, (out.backends || []).map((b) => h('li', { dataset: { backend: b.name } },
        h('div.grow', h('strong', b.name, b.default ? ' (default)' : ''), h('div.muted.small.path', b.command),
          b.model ? h('div.muted.small', `model ${b.model}`) : null,
          master ? h('details', h('summary.small', 'Edit'), editForm(b)) : null),
        master ? h('button.btn.small.danger', { type: 'button', on: { click: async () => {
          if (!await confirmDialog('Delete backend?', `Delete the backend "${b.name}"?`, 'Delete', true)) return;
          try { await del(`/api/backends/${enc(b.name)}`); load(); } catch (err) { toast(err.message, 'error'); }
        } } }, 'Delete') : null)));
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }
  load();
  return card('Backends', master ? null : h('p.small.muted', 'Only the master token can change backends (command templates run code).'),
    list, master ? h('details', h('summary', 'Add a backend'), editForm()) : null);
}

// Values that do not come from the form (environment, config.toml) say so, with what was saved.
function sourceNotes(s, sec) {
  const sources = (s.sources || {})[sec.name] || {};
  const configured = (s.configured || {})[sec.name] || {};
  const env = s.env || {};
  const notes = (sec.fields || []).filter((f) => ['environment', 'config.toml'].includes(sources[f.key])).map((f) => {
    const label = f.label || f.key;
    if (sources[f.key] === 'environment') {
      return `${label}: set by ${env[`${sec.name}.${f.key}`] || 'the environment'} (saved/configured: ${JSON.stringify(configured[f.key])})`;
    }
    return `${label}: set in config.toml (it wins over what is saved here)`;
  });
  return notes.length ? h('ul.small.muted.sources', { dataset: { sources: sec.name } }, notes.map((n) => h('li', n))) : null;
}

function updateCard() {
  const status = h('p.small#update-source', 'Loading…');
  const out = h('ul.rows#update-log');
  const check = h('button.btn#update-check', { type: 'button' }, 'Check for updates');
  const run = h('button.btn.primary#update-run', { type: 'button' }, 'Update Argus');
  const line = (text, cls = '') => out.append(h(`li.small${cls}`, text));
  (async () => {
    try {
      const src = await get('/api/source-path');
      status.textContent = src.valid ? `Source: ${src.source_path}` : src.detail;
    } catch (err) { status.textContent = err.message; }
  })();
  check.addEventListener('click', async () => {
    mount(out);
    try {
      const dry = await post('/api/update', { dry_run: true });
      if (!dry.commits.length) line('Up to date.');
      for (const c of dry.commits) line(`${c.sha.slice(0, 8)} ${c.subject}`);
    } catch (err) { line(err.message, '.error'); }
  });
  run.addEventListener('click', async () => {
    if (!await confirmDialog('Update Argus?', 'Pull the source (--ff-only), reinstall and restart the daemon. Agents keep running.', 'Update')) return;
    mount(out);
    try { await post('/api/update', {}); line('Update started…'); } catch (err) { line(err.message, '.error'); }
  });
  const off = onEvent((ev) => {
    if (!document.body.contains(out)) { off(); return; }
    const d = ev.data || {};
    if (ev.type === 'update.step') line(`${d.step}: ${d.status}${d.message ? ` — ${d.message}` : ''}`, d.status === 'failed' ? '.error' : '');
    if (ev.type === 'update.finished') {
      line(d.ok ? 'Installed; the daemon is restarting.' : `Failed at ${d.step}: ${d.message}`, d.ok ? '' : '.error');
      if (!d.ok && d.output) out.append(h('li', h('pre.small.update-output', d.output)));
    }
  });
  return card('Argus update', status, h('div.row.wrap', check, run), out);
}

function doctorCard() {
  const out = h('ul.rows#doctor-checks');
  const button = h('button.btn#doctor-run', { type: 'button', on: { click: async () => {
    mount(out, h('li.muted', 'Checking…'));
    try {
      const r = await get('/api/doctor');
      const order = { fail: 0, warn: 1, ok: 2, skip: 3 };
      const checks = [...r.checks].sort((a, b) => order[a.status] - order[b.status]);
      mount(out, checks.map((c) => h('li', { dataset: { check: c.name, status: c.status } },
        h('div.grow', h('strong', `${c.status.toUpperCase()} ${c.name}`), h('div.small', c.detail),
          c.fix && c.status !== 'ok' ? h('div.small.muted', `Fix: ${c.fix}`) : null))));
    } catch (err) { mount(out, h('li.error', err.message)); }
  } } }, 'Run doctor');
  return card('Doctor', h('p.small.muted', 'Checks the installation and explains each problem with a fix.'), button, out);
}

async function sectionsCards(container) {
  try {
    const s = await get('/api/settings');
    const values = s.sections || s;
    const schema = s.schema || [];
    mount(container, schema.map((sec) => {
      const locked = sec.master_only && !state.isMaster;
      const facts = values[sec.name] || {};
      const status = sec.name === 'sandbox' && 'available' in facts
        ? h('p.small.sandbox-status', facts.available ? `Available on this host: ${facts.backend}.`
          : `Unavailable on this host: ${facts.reason}`) : null;
      return h('section.card', { dataset: { section: sec.name } },
        h('h3', sec.title || sec.name), status,
        locked ? h('p.small.muted', 'Master token required to change this section.') : null,
        sourceNotes(s, sec),
        schemaForm(sec.fields || [], values[sec.name] || {}, async (vals) => {
          try {
            await put('/api/settings', { [sec.name]: vals });
            toast(`${sec.title || sec.name} saved`, 'ok');
          } catch (err) { toast(err.message, 'error'); }
        }, { disabled: locked, prefix: sec.name }));
    }), s.config_error ? h('p.error.small', `config.toml: ${s.config_error}`) : null);
  } catch (err) {
    mount(container, h('p.error', err.message));
  }
}

async function pluginSections(container) {
  try {
    const out = await get('/api/plugins/settings/sections');
    const sections = out.sections || [];
    mount(container, sections.map((sec) => h('section.card', { dataset: { pluginSection: `${sec.scope}/${sec.title}` } },
      h('h3', sec.title, h('span.tag', sec.scope || 'plugin')),
      sec.type === 'stream' ? h('p.small.muted', 'Live section (shown in the TUI).')
        : schemaForm(sec.fields || [], sec.values || {}, async (vals) => {
          try {
            await post(`/api/plugins/settings/sections/${enc(sec.scope)}/${enc(sec.title)}/submit`, vals);
            toast(`${sec.title} saved`, 'ok');
          } catch (err) { toast(err.message, 'error'); }
        }, { prefix: `p-${sec.scope}` }))));
  } catch {
    mount(container);
  }
}

export function settingsView(main, params, query, ctx) {
  let alive = true;
  mount(main, h('section.page.settings', h('h2', 'Settings'), h('p.muted', 'Loading…')));
  // Backends and some sections are master-only: draw once we know which token this is.
  whenMasterKnown().then(() => { if (alive) drawSettings(main, ctx); });
  return () => { alive = false; };
}

function drawSettings(main, { logout }) {
  const push = h('div#push-slot', { dataset: { state: 'probing' } });
  const schedules = h('div#schedules-slot', { dataset: { state: 'probing' } });
  const ops = h('div#ops-slot', { dataset: { state: 'probing' } });
  const sections = h('div', h('p.muted', 'Loading settings…'));
  const plugins = h('div');
  mount(main, h('section.page.settings',
    h('h2', 'Settings'),
    card('This device',
      h('p.small#token-kind', state.isMaster ? 'Signed in with the master token.' : 'Signed in with a device token.'),
      h('div.row.wrap',
        state.isMaster ? h('a.btn#tokens-link', { href: '/tokens', 'data-link': '' }, 'Tokens') : null,
        h('a.btn#logs-link', { href: '/logs', 'data-link': '' }, 'Logs'),
        h('button.btn.danger#logout', { type: 'button', on: { click: async () => {
          if (await confirmDialog('Log out?', 'Forget the token on this device?', 'Log out', true)) logout();
        } } }, 'Log out'))),
    push,
    projectsCard(),
    backendsCard(),
    state.isMaster ? updateCard() : null,
    doctorCard(),
    ops,
    schedules,
    sections,
    plugins));
  pushSection().then((el) => {
    if (el) mount(push, el);
    push.dataset.state = el ? 'shown' : 'absent'; // absent: the daemon serves no push routes
  }).catch(() => { push.dataset.state = 'absent'; });
  schedulesCard().then((el) => {
    if (el) mount(schedules, el);
    schedules.dataset.state = el ? 'shown' : 'absent'; // absent: the scheduler plugin is off
  }).catch(() => { schedules.dataset.state = 'absent'; });
  opsCards(ops); // Auto-start at login (master token) and Usage
  sectionsCards(sections);
  pluginSections(plugins);
}
