// GitHub-style stacked diff: every changed file of the worktree as a collapsible panel, with
// expand-all and a wrap toggle. One request fetches the whole diff; files it does not cover
// (untracked, say) fetch their own diff when opened.
import { get, enc } from '../api.js';
import { h, mount } from '../dom.js';

const WRAP_KEY = 'argus.diffWrap';

/** Split a unified diff of many files into {path -> text}. */
export function splitDiff(text) {
  const out = new Map();
  if (!text) return out;
  const parts = text.split(/^(?=diff --git )/m);
  for (const part of parts) {
    if (!part.trim()) continue;
    let path = null;
    const plus = /^\+\+\+ (?:b\/)?(.+)$/m.exec(part);
    if (plus && plus[1] !== '/dev/null') path = plus[1].trim();
    if (!path) {
      const minus = /^--- (?:a\/)?(.+)$/m.exec(part);
      if (minus && minus[1] !== '/dev/null') path = minus[1].trim();
    }
    if (!path) {
      const head = /^diff --git a\/(.+?) b\/(.+)$/m.exec(part);
      if (head) path = head[2].trim();
    }
    if (path) out.set(path, part);
  }
  return out;
}

function counts(text) {
  let add = 0;
  let del = 0;
  for (const line of (text || '').split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++')) add++;
    else if (line.startsWith('-') && !line.startsWith('---')) del++;
  }
  return { add, del };
}

function renderLines(text) {
  const pre = h('pre.diff-body');
  const lines = (text || '').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const frag = document.createDocumentFragment();
  let inHunk = false;
  for (const line of lines) {
    let cls = 'ctx';
    if (line.startsWith('@@')) {
      cls = 'hunk';
      inHunk = true;
    } else if (line.startsWith('diff --git')) {
      inHunk = false;
      continue;
    } else if (!inHunk) {
      // The file header: keep what tells something (new, deleted, renamed, binary), skip the rest.
      if (!/^(new file|deleted file|rename |similarity|Binary files|old mode|new mode)/.test(line)) continue;
      cls = 'meta';
    } else if (line.startsWith('+')) cls = 'add';
    else if (line.startsWith('-')) cls = 'del';
    const span = document.createElement('span');
    span.className = `dl ${cls}`;
    span.textContent = line || ' ';
    frag.append(span);
  }
  pre.append(frag);
  return pre;
}

/** The diff tab for a task: returns {el, load()}. */
export function diffView(taskId) {
  const body = h('div.diff-files');
  const summary = h('div.diff-summary.muted.small');
  const wrap = h('input#diff-wrap', { type: 'checkbox', checked: localStorage.getItem(WRAP_KEY) === '1' });
  const el = h('section.diff-view', { class: wrap.checked ? 'wrap' : null },
    h('div.toolbar',
      h('button.btn.small#diff-expand', { type: 'button', on: { click: () => setAll(true) } }, 'Expand all'),
      h('button.btn.small#diff-collapse', { type: 'button', on: { click: () => setAll(false) } }, 'Collapse all'),
      h('label.check.small', wrap, 'Wrap'),
      h('span.grow'),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Refresh diff', on: { click: () => load() } }, '↻')),
    summary, body);
  wrap.addEventListener('change', () => {
    el.classList.toggle('wrap', wrap.checked);
    localStorage.setItem(WRAP_KEY, wrap.checked ? '1' : '0');
  });

  function setAll(open) {
    for (const d of body.querySelectorAll('details')) {
      if (d.open !== open) d.open = open; // 'toggle' lazy-loads missing bodies
    }
  }

  function panel(file, text) {
    const c = counts(text);
    const content = h('div.diff-content');
    const details = h('details.diff-file', { dataset: { path: file.path } },
      h('summary',
        h('span.fstatus', { title: file.status }, (file.status || '').trim() || 'M'),
        h('span.fpath', file.path),
        h('span.fcount', c.add || c.del ? [h('span.add', `+${c.add}`), ' ', h('span.del', `−${c.del}`)] : '')),
      content);
    let loaded = false;
    details.addEventListener('toggle', async () => {
      if (!details.open || loaded) return;
      loaded = true;
      if (text) {
        mount(content, renderLines(text));
        return;
      }
      mount(content, h('p.muted.pad', 'Loading…'));
      try {
        const out = await get(`/api/tasks/${enc(taskId)}/git/diff?path=${enc(file.path)}`);
        mount(content, out.diff ? renderLines(out.diff) : h('p.muted.pad', 'No textual diff (binary or unchanged).'));
      } catch (err) {
        loaded = false;
        mount(content, h('p.error.pad', err.message));
      }
    });
    return details;
  }

  let loadedOnce = false;

  async function load() {
    const scroller = el.parentElement;
    if (!loadedOnce) mount(body, h('p.muted.pad', 'Loading diff…'));
    try {
      const [status, whole] = await Promise.all([
        get(`/api/tasks/${enc(taskId)}/git/status`),
        get(`/api/tasks/${enc(taskId)}/git/diff`).catch(() => ({ diff: '' })),
      ]);
      const byPath = splitDiff(whole.diff || '');
      const files = [...(status.files || [])];
      for (const p of byPath.keys()) if (!files.some((f) => f.path === p)) files.push({ path: p, status: 'M' });
      summary.textContent = [
        status.branch ? `${status.branch}${status.base_branch ? ` ← ${status.base_branch}` : ''}` : '',
        status.ahead ? `${status.ahead} commit${status.ahead === 1 ? '' : 's'} ahead` : '',
        `${files.length} changed file${files.length === 1 ? '' : 's'}`,
      ].filter(Boolean).join(' · ');
      if (!files.length) {
        mount(body, h('p.muted.pad', 'No changes in this worktree yet.'));
        return;
      }
      // A refresh keeps the panels the reader opened (and the scroll position), read now and not
      // before the fetch: a panel opened (or "Expand all") while it ran must stay open.
      const wasOpen = new Set([...body.querySelectorAll('details[open]')].map((d) => d.dataset.path));
      const scroll = scroller ? scroller.scrollTop : 0;
      mount(body, files.map((f) => panel(f, byPath.get(f.path))));
      if (!loadedOnce && files.length <= 3) setAll(true);
      for (const d of body.querySelectorAll('details')) if (wasOpen.has(d.dataset.path)) d.open = true;
      if (scroller) scroller.scrollTop = scroll;
      loadedOnce = true;
    } catch (err) {
      mount(body, h('p.error.pad', err.message));
    }
  }

  return { el, load };
}
