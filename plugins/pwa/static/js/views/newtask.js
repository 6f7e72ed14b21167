// New Task: project, backend, model, name, prompt (with slash-skill autocomplete), attachments, and a
// checkbox per boolean create-time option plugins offer (GET /api/task-options: e.g. kb_context).
// Also the share target: /new?title=&text=&url= lands here with the prompt pre-filled.
import { api, get, enc } from '../api.js';
import { h, mount, toast, size } from '../dom.js';
import { state, putTask, refresh } from '../store.js';
import { attachSkills } from '../skills.js';
import { navigate } from '../router.js';

const LAST_PROJECT = 'argus.lastProject';

/** The prompt a share-sheet payload turns into (title, text and url, de-duplicated). */
export function sharedPrompt(query) {
  const parts = [];
  for (const key of ['title', 'text', 'url']) {
    const v = (query.get(key) || '').trim();
    if (v && !parts.some((p) => p.includes(v))) parts.push(v);
  }
  return parts.join('\n\n');
}

export function newTaskView(main, query) {
  const shared = sharedPrompt(query);
  const project = h('select#nt-project', { name: 'project', required: true, 'aria-label': 'Project' });
  const backend = h('select#nt-backend', { name: 'backend', 'aria-label': 'Backend' });
  const model = h('input#nt-model', { name: 'model', type: 'text', autocapitalize: 'off', spellcheck: 'false',
    placeholder: 'default', 'aria-label': 'Model' });
  const name = h('input#nt-name', { name: 'name', type: 'text', autocapitalize: 'off', spellcheck: 'false',
    placeholder: 'auto from prompt', 'aria-label': 'Name' });
  const prompt = h('textarea#nt-prompt', { name: 'prompt', rows: 6, required: true,
    placeholder: 'What should the agent do? Type / for skills.', 'aria-label': 'Prompt' });
  prompt.value = shared || query.get('prompt') || '';
  const files = h('input#nt-files', { type: 'file', multiple: true, 'aria-label': 'Attach files' });
  const fileList = h('ul.file-list');
  const optionBox = h('div.task-options#nt-options');
  const suggestions = h('div.suggestions', { hidden: true });
  const submit = h('button.btn.primary.wide#nt-submit', { type: 'submit' }, 'Start task');
  const error = h('p.error', { role: 'alert', hidden: true });

  attachSkills(prompt, suggestions, () => project.value);

  files.addEventListener('change', () => {
    mount(fileList, [...files.files].map((f) => h('li', f.name, h('span.muted', ` ${size(f.size)}`))));
  });

  function fillProjects(defaultProject) {
    const names = state.projects;
    const keep = project.value;
    mount(project, names.map((p) => h('option', { value: p }, p)));
    const want = keep || defaultProject || localStorage.getItem(LAST_PROJECT) || '';
    if (names.includes(want)) project.value = want;
  }

  function fillBackends() {
    const keep = backend.value;
    mount(backend, h('option', { value: '' }, 'default'),
      state.backends.map((b) => h('option', { value: b.name }, b.name + (b.default ? ' (default)' : ''))));
    if (keep) backend.value = keep;
    updateModelHint();
  }

  function updateModelHint() {
    const b = state.backends.find((x) => x.name === backend.value) || state.backends.find((x) => x.default);
    model.placeholder = (b && b.model) ? `${b.model} (backend default)` : 'backend default';
  }
  backend.addEventListener('change', updateModelHint);

  /** One checkbox per available boolean option (an unavailable one, e.g. kb off, is not shown). */
  function fillOptions(options) {
    mount(optionBox, options.filter((o) => o.type === 'bool' && o.available).map((o) =>
      h('label.check', h('input', { type: 'checkbox', id: `nt-opt-${o.name}`, 'data-option': o.name,
        checked: !!o.default }), o.title, o.description ? h('span.help.muted.small', o.description) : null)));
  }

  function chosenOptions() {
    const out = {};
    for (const box of optionBox.querySelectorAll('input[data-option]')) if (box.checked) out[box.dataset.option] = true;
    return out;
  }

  async function onSubmit(e) {
    e.preventDefault();
    error.hidden = true;
    if (!project.value) {
      error.textContent = 'Pick a project (add one under Settings).';
      error.hidden = false;
      return;
    }
    if (!prompt.value.trim()) {
      error.textContent = 'Write a prompt.';
      error.hidden = false;
      return;
    }
    const fields = { project: project.value, prompt: prompt.value, name: name.value.trim(),
      backend: backend.value, model: model.value.trim(), ...chosenOptions() };
    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      let out;
      if (files.files.length) {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v === true ? 'true' : v);
        for (const f of files.files) form.append('files', f, f.name);
        out = await api('/api/tasks', { method: 'POST', body: form });
      } else {
        const body = {};
        for (const [k, v] of Object.entries(fields)) if (v) body[k] = v;
        out = await api('/api/tasks', { method: 'POST', json: body });
      }
      const task = out.task || out;
      localStorage.setItem(LAST_PROJECT, project.value);
      putTask(task);
      toast(`Started ${task.name}`, 'ok');
      navigate(`/task/${enc(task.id)}`, { replace: true });
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Start task';
    }
  }

  mount(main, h('section.page.new-task',
    h('h2', shared ? 'New task from share' : 'New task'),
    h('form#new-task-form', { on: { submit: onSubmit } },
      h('div.grid2',
        h('label', 'Project', project),
        h('label', 'Backend', backend)),
      h('div.grid2',
        h('label', 'Model', model),
        h('label', 'Name', name)),
      h('label.prompt-label', 'Prompt', h('div.ac-wrap', prompt, suggestions)),
      h('label', 'Attachments', files), fileList,
      optionBox,
      error,
      submit)));

  let defaultProject = '';
  get('/api/settings').then((s) => {
    const d = (s.sections || s).defaults || {};
    if (shared && d.share_project) defaultProject = d.share_project;
    fillProjects(defaultProject);
  }).catch(() => {});
  get('/api/task-options').then((o) => fillOptions(o.options || [])).catch(() => {});
  fillProjects('');
  fillBackends();
  refresh().then(() => { fillProjects(defaultProject); fillBackends(); }).catch(() => {});
  if (!shared) prompt.focus();
  return () => {};
}
