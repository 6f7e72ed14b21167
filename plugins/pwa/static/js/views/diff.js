// GitHub-style stacked diff: every changed file of the worktree as a collapsible panel, with
// expand-all and a wrap toggle. One request fetches the whole diff; files it does not cover
// (untracked, say) fetch their own diff when opened.
// Review in place: tap (or click) a line, tap another (or shift-click) to make it a range, write a
// comment; comments gather in the draft review above the files and show inline under their lines
// (Edit, Delete; outdated ones at the top of their file), and "Send review" sends them to the agent
// as one message (typed when it is idle). The sent reviews are listed below the draft.
import { get, post, put, del, enc } from '../api.js';
import { h, mount, toast } from '../dom.js';
import { onEvent } from '../store.js';
import { decorate, label, renderHistory } from './review.js';

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
  let oldNo = 0;
  let newNo = 0;
  for (const line of lines) {
    let cls = 'ctx';
    let n = null; // the line number a comment on this line names (new file; old file for removed lines)
    if (line.startsWith('@@')) {
      cls = 'hunk';
      inHunk = true;
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(line);
      if (m) { oldNo = Number(m[1]); newNo = Number(m[2]); }
    } else if (line.startsWith('diff --git')) {
      inHunk = false;
      continue;
    } else if (!inHunk) {
      // The file header: keep what tells something (new, deleted, renamed, binary), skip the rest.
      if (!/^(new file|deleted file|rename |similarity|Binary files|old mode|new mode)/.test(line)) continue;
      cls = 'meta';
    } else if (line.startsWith('+')) { cls = 'add'; n = newNo++; }
    else if (line.startsWith('-')) { cls = 'del'; n = oldNo++; }
    else if (line.startsWith('\\')) cls = 'meta';
    else { n = newNo++; oldNo++; }
    const span = document.createElement('span');
    span.className = `dl ${cls}`;
    span.textContent = line || ' ';
    if (n !== null) {
      span.dataset.n = String(n);
      span.dataset.src = line.slice(1);
    }
    frag.append(span);
  }
  pre.append(frag);
  return pre;
}

/** The diff tab for a task: returns {el, load()}. */
export function diffView(taskId) {
  const body = h('div.diff-files');
  let review; // the draft review panel (set below)
  let historyBox; // the sent reviews (set below)
  let drafts = [];
  let outdatedIds = new Set();
  const rendered = new Map(); // path -> { content, pre }: the file diffs on screen
  let sel = null; // the selected lines: { pre, path, a, b } (indexes into the pre's commentable lines)
  const base = `/api/tasks/${enc(taskId)}/review`;
  const summary = h('div.diff-summary.muted.small');
  const wrap = h('input#diff-wrap', { type: 'checkbox', checked: localStorage.getItem(WRAP_KEY) === '1' });
  const el = h('section.diff-view', { class: wrap.checked ? 'wrap' : null },
    h('div.toolbar',
      h('button.btn.small#diff-expand', { type: 'button', on: { click: () => setAll(true) } }, 'Expand all'),
      h('button.btn.small#diff-collapse', { type: 'button', on: { click: () => setAll(false) } }, 'Collapse all'),
      h('label.check.small', wrap, 'Wrap'),
      h('span.grow'),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Refresh diff', on: { click: () => load() } }, '↻')),
    summary, review = h('div.review-draft#review-draft'), historyBox = h('div.review-history#review-history'),
    body);
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
    const commentOn = (pre) => {
      pre.addEventListener('click', (ev) => onLine(ev, file.path, pre));
      rendered.set(file.path, { content, pre });
      queueMicrotask(() => showComments(file.path));
      return pre;
    };
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
        mount(content, commentOn(renderLines(text)));
        return;
      }
      mount(content, h('p.muted.pad', 'Loading…'));
      try {
        const out = await get(`/api/tasks/${enc(taskId)}/git/diff?path=${enc(file.path)}`);
        mount(content, out.diff ? commentOn(renderLines(out.diff)) : h('p.muted.pad', 'No textual diff (binary or unchanged).'));
      } catch (err) {
        loaded = false;
        mount(content, h('p.error.pad', err.message));
      }
    });
    return details;
  }

  // -- review in place -----------------------------------------------------------------------

  const actions = { edit, remove };

  /** Draw the draft comments of one rendered file (or of all of them) in the diff. */
  function showComments(only) {
    for (const [path, { content, pre }] of rendered) {
      if (only && path !== only) continue;
      if (!content.isConnected || !content.contains(pre)) { rendered.delete(path); continue; }
      const ids = decorate(content, pre, path, drafts, actions);
      for (const c of drafts) if (c.path === path) outdatedIds.delete(c.id);
      for (const id of ids) outdatedIds.add(id);
    }
    for (const li of review.querySelectorAll('.review-item')) {
      li.classList.toggle('outdated', outdatedIds.has(Number(li.dataset.id)));
    }
  }

  function commentable(pre) {
    return [...pre.querySelectorAll('.dl[data-n]')];
  }

  function clearSelection() {
    for (const x of el.querySelectorAll('.dl.sel')) x.classList.remove('sel');
    for (const x of el.querySelectorAll('.review-form')) x.remove();
    sel = null;
  }

  function onLine(ev, path, pre) {
    const span = ev.target.closest('.dl[data-n]');
    if (!span || ev.target.closest('.review-form')) return;
    const spans = commentable(pre);
    const i = spans.indexOf(span);
    const text = el.querySelector('#review-text');
    const extend = sel && sel.pre === pre && (ev.shiftKey || (text && !text.value.trim()));
    if (extend && i !== sel.a) sel.b = i;
    else {
      clearSelection();
      sel = { pre, path, a: i, b: i };
    }
    for (const x of el.querySelectorAll('.dl.sel')) x.classList.remove('sel');
    const [lo, hi] = [Math.min(sel.a, sel.b), Math.max(sel.a, sel.b)];
    spans.slice(lo, hi + 1).forEach((x) => x.classList.add('sel'));
    for (const x of el.querySelectorAll('.review-form')) x.remove();
    const picked = spans.slice(lo, hi + 1);
    const nums = picked.map((x) => Number(x.dataset.n));
    const line = Math.min(...nums);
    const endLine = Math.max(...nums);
    const where = label({ path, line, end_line: endLine });
    const area = h('textarea#review-text', { rows: 3, placeholder: `Comment on ${where}` });
    const form = h('div.review-form',
      h('div.small.muted', where, picked.length === 1 ? ' · tap another line for a range' : ''),
      area,
      h('div.row',
        h('button.btn.small.primary#review-add', { type: 'button', on: { click: add } }, 'Add comment'),
        h('button.btn.small#review-cancel', { type: 'button', on: { click: clearSelection } }, 'Cancel')));
    spans[hi].after(form);
    area.focus();

    async function add() {
      const bodyText = area.value.trim();
      if (!bodyText) { area.focus(); return; }
      try {
        await post(`${base}/comments`, { path, line, end_line: endLine, body: bodyText,
          quote: picked.map((x) => x.dataset.src).join('\n') });
        clearSelection();
        await loadDrafts();
      } catch (err) {
        toast(err.message, 'error');
      }
    }
  }

  function renderDrafts() {
    showComments();
    if (!drafts.length) {
      mount(review);
      return;
    }
    const note = h('input#review-summary', { type: 'text', placeholder: 'Overall note (optional)' });
    mount(review,
      h('div.review-head', h('strong', `Draft review · ${drafts.length} comment${drafts.length === 1 ? '' : 's'}`)),
      h('ul.review-list', drafts.map((c) => h('li.review-item', { dataset: { id: String(c.id) },
        class: outdatedIds.has(c.id) ? 'outdated' : null },
        h('span.mono.small', label(c)),
        h('span.outdated-badge.badge', 'outdated'),
        h('span.grow', c.body),
        h('button.icon-btn.small', { type: 'button', 'aria-label': 'Delete comment',
          on: { click: () => remove(c.id) } }, '×')))),
      h('div.row', note,
        h('button.btn.small.primary#review-send', { type: 'button', on: { click: () => send(note.value) } },
          'Send review')));
  }

  async function loadDrafts() {
    const [comments, sent] = await Promise.all([
      get(`${base}/comments`).then((out) => out.comments || []).catch(() => []),
      get(`/api/tasks/${enc(taskId)}/reviews`).then((out) => out.reviews || []).catch(() => null),
    ]);
    drafts = comments;
    renderDrafts();
    if (sent) renderHistory(historyBox, sent);
  }

  async function edit(id, bodyText) {
    try {
      await put(`${base}/comments/${id}`, { body: bodyText });
    } catch (err) {
      toast(err.message, 'error');
      return false;
    }
    await loadDrafts();
    return true;
  }

  async function remove(id) {
    try {
      await del(`${base}/comments/${id}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    await loadDrafts();
  }

  async function send(note) {
    try {
      const out = await post(base, { summary: note || '' });
      toast(out.review.delivered ? 'Review sent' : 'Review sent: it is typed into the agent once it is idle');
    } catch (err) {
      toast(err.message, 'error');
    }
    await loadDrafts();
  }

  let loadedOnce = false;

  async function load() {
    // A comment being written keeps its lines on screen: the refresh waits for the next one.
    if (el.querySelector('#review-text')?.value.trim() || el.querySelector('.review-inline.editing')) return;
    const scroller = el.parentElement;
    if (!loadedOnce) mount(body, h('p.muted.pad', 'Loading diff…'));
    if (!el.querySelector('.review-form')) loadDrafts();
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
      rendered.clear();
      mount(body, files.map((f) => panel(f, byPath.get(f.path))));
      if (!loadedOnce && files.length <= 3) setAll(true);
      for (const d of body.querySelectorAll('details')) if (wasOpen.has(d.dataset.path)) d.open = true;
      if (scroller) scroller.scrollTop = scroll;
      loadedOnce = true;
    } catch (err) {
      mount(body, h('p.error.pad', err.message));
    }
  }

  // Another client (or MCP) changed the draft or sent a review; a delivery updates the history.
  // A comment being written or edited stays as it is until the next change.
  const stop = onEvent((ev) => {
    const d = ev.data || {};
    if (!ev.type.startsWith('review.') || d.task_id !== taskId || !el.isConnected) return;
    if (el.querySelector('.review-inline.editing, .review-form')) return;
    loadDrafts();
  });

  return { el, load, dispose: stop };
}
