// Task verbs shared by the list and the task view: stop/resume/restart, status, rename, fork,
// archive, copy prompt, delete (with confirmation). Each shows a toast with the outcome.
import { get, post, del, enc } from './api.js';
import { h, sheet, closeSheet, toast, confirmDialog, promptDialog, copyText } from './dom.js';
import { putTask, dropTask } from './store.js';
import { navigate } from './router.js';

export const STATUS_LABEL = {
  pending: 'Pending', in_progress: 'In progress', in_review: 'In review', complete: 'Complete',
  needs_you: 'Needs you', limit: 'Usage limit',
};

/** "limit · resumes 15:01" (local time) for a task whose agent hit its usage limit. */
export function limitWords(t) {
  if (!t.limit_resume_at) return 'limit';
  const when = new Date(t.limit_resume_at);
  return `limit · resumes ${when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

async function run(label, fn) {
  try {
    const out = await fn();
    if (out && out.task) putTask(out.task);
    return out;
  } catch (err) {
    toast(`${label} failed: ${err.message}`, 'error');
    return undefined;
  }
}

export const taskActions = {
  stop: (t) => run('Stop', () => post(`/api/tasks/${enc(t.id)}/stop`)),
  resume: (t) => run('Resume', () => post(`/api/tasks/${enc(t.id)}/resume`)),
  restart: (t) => run('Restart', () => post(`/api/tasks/${enc(t.id)}/restart`)),
  archive: (t) => run(t.archived ? 'Unarchive' : 'Archive',
    () => post(`/api/tasks/${enc(t.id)}/${t.archived ? 'unarchive' : 'archive'}`)),
  pin: (t) => run(t.pinned ? 'Unpin' : 'Pin', () => post(`/api/tasks/${enc(t.id)}/pin`, { pinned: !t.pinned })),
  status: (t, status) => run('Status', () => post(`/api/tasks/${enc(t.id)}/status`, { status })),
  async cancelLimit(t) {
    const out = await run('Cancel limit resume', () => del(`/api/tasks/${enc(t.id)}/limit-resume`));
    if (out !== undefined) toast('Limit resume cancelled', 'ok');
  },
  async rename(t) {
    const name = await promptDialog('Rename task', 'Display name', t.name);
    if (!name || name === t.name) return;
    const out = await run('Rename', () => post(`/api/tasks/${enc(t.id)}/rename`, { name }));
    if (out !== undefined) toast('Renamed', 'ok');
  },
  async fork(t) {
    const name = await promptDialog('Fork task', 'Name of the new task', `${t.name}-fork`, 'Fork');
    if (name === null) return;
    const out = await run('Fork', () => post(`/api/tasks/${enc(t.id)}/fork`, name ? { name } : {}));
    const task = out && (out.task || (out.id ? out : null));
    if (task) {
      toast(`Forked as ${task.name}`, 'ok');
      navigate(`/task/${enc(task.id)}`);
    }
  },
  async remove(t) {
    const ok = await confirmDialog('Delete task?',
      `"${t.name}" will be destroyed: its agent is killed, its worktree removed and the branch `
      + `${t.branch || ''} deleted. This cannot be undone.`, 'Delete', true);
    if (!ok) return;
    let out;
    try {
      out = await del(`/api/tasks/${enc(t.id)}`);
    } catch (err) {
      if (err.status !== 409) {
        toast(`Delete failed: ${err.message}`, 'error');
        return;
      }
      // Unsaved work in the worktree: say what, and ask once more before forcing.
      const why = (err.body && err.body.reason) || err.message;
      const force = await confirmDialog('Unsaved work', `"${t.name}" has unsaved work: ${why}. `
        + 'Delete it anyway and lose those changes?', 'Delete anyway', true);
      if (!force) return;
      out = await run('Delete', () => del(`/api/tasks/${enc(t.id)}?force=1`));
    }
    if (out !== undefined) {
      dropTask(t.id);
      toast('Task deleted', 'ok');
      if (location.pathname.startsWith(`/task/${enc(t.id)}`)) navigate('/');
    }
  },
  /** The branch against its base (ahead/behind, conflicts) and the merge actions. */
  async merge(t) {
    let pre;
    try {
      pre = await get(`/api/tasks/${enc(t.id)}/merge`);
    } catch (err) {
      toast(`Merge failed: ${err.message}`, 'error');
      return;
    }
    const DONE = { rebase: `Rebased onto ${pre.base}`, merge: `Merged into ${pre.base}`, pr: 'Branch pushed' };
    const act = (action, label) => h('button.sheet-item', {
      type: 'button', 'data-action': `merge-${action}`,
      on: {
        click: async () => {
          closeSheet();
          const out = await run(label, () => post(`/api/tasks/${enc(t.id)}/merge`, { action }));
          if (out !== undefined) toast(out.pr_url ? `Pull request: ${out.pr_url}` : DONE[action], 'ok');
        },
      },
    }, label);
    const conflicts = pre.conflicts || [];
    sheet(`Merge ${t.name}`, [
      h('p.small.merge-summary', `${pre.ahead} ahead, ${pre.behind} behind ${pre.base}`),
      conflicts.length ? h('p.small.error.merge-conflicts', `Conflicts with ${pre.base}: ${conflicts.join(', ')}`) : null,
      ...(pre.overlaps || []).map((o) => h('p.small.muted.merge-overlap',
        `Conflicts with ${o.name}: both change ${o.files.join(', ')}`)),
      pre.base_dirty ? h('p.small.muted', `${pre.base} has uncommitted changes: merging is refused`) : null,
      h('div.sheet-list',
        act('rebase', `Rebase onto ${pre.base}`),
        act('merge', `Merge into ${pre.base}${pre.fast_forward ? ' (fast-forward)' : ''}`),
        act('pr', pre.gh ? 'Push and open a PR' : 'Push the branch (gh not installed)')),
    ].filter(Boolean));
  },
  async copyPrompt(t) {
    const ok = await copyText(t.prompt || '');
    toast(ok ? 'Prompt copied' : 'Copy failed', ok ? 'ok' : 'error');
  },
};

/** Open the action sheet for a task. */
export function openActions(t) {
  const item = (label, fn, cls = '') => h(`button.sheet-item${cls}`, {
    type: 'button', 'data-action': label.toLowerCase().replace(/[^a-z]+/g, '-'),
    on: { click: () => { closeSheet(); fn(); } },
  }, label);
  const statuses = ['pending', 'in_progress', 'in_review', 'complete'].filter((s) => s !== t.status);
  sheet(t.name, [
    h('div.sheet-list',
      !location.pathname.startsWith('/task/') ? item('Open', () => navigate(`/task/${enc(t.id)}`)) : null,
      t.running ? item('Stop', () => taskActions.stop(t)) : null,
      !t.running && t.status !== 'complete' ? item('Resume', () => taskActions.resume(t)) : null,
      !t.running ? item('Restart', () => taskActions.restart(t)) : null,
      t.status === 'limit' && t.limit_resume_at
        ? item('Cancel limit resume', () => taskActions.cancelLimit(t)) : null,
      item(t.pinned ? 'Unpin' : 'Pin', () => taskActions.pin(t)),
      item('Rename', () => taskActions.rename(t)),
      item('Fork', () => taskActions.fork(t)),
      item('Merge…', () => taskActions.merge(t)),
      item(t.archived ? 'Unarchive' : 'Archive', () => taskActions.archive(t)),
      item('Copy prompt', () => taskActions.copyPrompt(t)),
      item('Delete…', () => taskActions.remove(t), '.danger')),
    h('p.muted.small', 'Set status'),
    h('div.row.wrap', statuses.map((s) => h('button.chip', {
      type: 'button', 'data-status': s, on: { click: () => { closeSheet(); taskActions.status(t, s); } },
    }, STATUS_LABEL[s]))),
  ]);
}
