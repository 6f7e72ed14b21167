// Review in place, the parts the diff view draws: a draft comment shown inline under the line it
// refers to (with Edit and Delete), the outdated comments (their lines changed since) listed at the
// top of their file's diff with their quoted lines, and the task's sent reviews (its history).
import { h, mount } from '../dom.js';

/** `path:line` or `path:line-end` of a comment. */
export function label(c) {
  return `${c.path}:${c.line}${c.end_line !== c.line ? `-${c.end_line}` : ''}`;
}

/** The diff line a comment shows under: the last line of its file with a number within its range
 * and the text of its last quoted line; null when there is none (the comment is outdated). */
export function anchorOf(c, spans) {
  const last = String(c.quote ?? '').split('\n').pop();
  let found = null;
  for (const span of spans) {
    const n = Number(span.dataset.n);
    if (n >= c.line && n <= c.end_line && span.dataset.src === last) found = span;
  }
  return found;
}

/** One comment as a block: its place, its text, Edit and Delete (and the quote when outdated). */
function commentBlock(c, actions, outdated) {
  const text = h('div.review-text', c.body);
  const block = h('div.review-inline', { dataset: { id: String(c.id) }, class: outdated ? 'outdated' : null },
    h('div.review-inline-head',
      h('span.mono.small', label(c)),
      outdated ? h('span.badge.outdated-badge', 'outdated') : null,
      h('span.grow'),
      h('button.btn.small.review-edit', { type: 'button', on: { click: () => startEdit() } }, 'Edit'),
      h('button.btn.small.review-delete', { type: 'button', 'aria-label': `Delete comment on ${label(c)}`,
        on: { click: () => actions.remove(c.id) } }, 'Delete')),
    outdated ? h('pre.review-quote', String(c.quote ?? '').split('\n').map((q) => `> ${q}`).join('\n')) : null,
    text);

  function startEdit() {
    if (block.classList.contains('editing')) return;
    block.classList.add('editing');
    const area = h('textarea.review-edit-text', { rows: 3 });
    area.value = c.body;
    const done = () => { block.classList.remove('editing'); mount(text, c.body); };
    mount(text, area, h('div.row',
      h('button.btn.small.primary.review-save', { type: 'button', on: { click: async () => {
        const body = area.value.trim();
        if (!body) { area.focus(); return; }
        if (await actions.edit(c.id, body)) block.classList.remove('editing');
      } } }, 'Save'),
      h('button.btn.small.review-cancel-edit', { type: 'button', on: { click: done } }, 'Cancel')));
    area.focus();
  }
  return block;
}

/** Show the draft comments of `path` in its rendered diff `pre` (inside `content`): each under its
 * line, the outdated ones at the top. Returns the ids of the outdated comments. */
export function decorate(content, pre, path, drafts, actions) {
  for (const x of content.querySelectorAll('.review-inline, .review-outdated')) x.remove();
  for (const x of pre.querySelectorAll('.dl.commented')) x.classList.remove('commented');
  const spans = [...pre.querySelectorAll('.dl[data-n]')];
  const outdated = [];
  for (const c of drafts.filter((d) => d.path === path)) {
    const at = anchorOf(c, spans);
    if (!at) { outdated.push(c); continue; }
    at.classList.add('commented');
    // after the line and the comments already under it (and a comment form being written)
    let after = at;
    while (after.nextElementSibling && !after.nextElementSibling.classList.contains('dl')) {
      after = after.nextElementSibling;
    }
    after.after(commentBlock(c, actions, false));
  }
  if (outdated.length) {
    content.prepend(h('div.review-outdated',
      h('div.small.muted', `${outdated.length} outdated comment${outdated.length === 1 ? '' : 's'}: `
        + 'the lines changed since; sent with the quoted lines'),
      outdated.map((c) => commentBlock(c, actions, true))));
  }
  return outdated.map((c) => c.id);
}

function when(ts) {
  const d = ts ? new Date(ts) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toLocaleString() : '';
}

/** The task's sent reviews, newest first: when, how many comments, typed or queued; the message
 * behind a disclosure (kept open across refreshes). */
export function renderHistory(box, reviews) {
  const open = new Set([...box.querySelectorAll('.review-sent details[open]')].map((d) => d.dataset.id));
  if (!reviews.length) {
    mount(box);
    return;
  }
  mount(box,
    h('div.review-head', h('strong', `Sent reviews · ${reviews.length}`)),
    h('ul.review-list', reviews.map((r) => h('li.review-sent', { dataset: { id: String(r.id),
      delivered: String(Boolean(r.delivered)) } },
    h('div.small',
      h('strong', `#${r.id}`), ` · ${when(r.created_at)} · ${r.comments.length} comment`
        + `${r.comments.length === 1 ? '' : 's'} · `,
      h('span.review-state', r.delivered ? `typed into the agent ${when(r.delivered_at)}`
        : 'queued until the agent is idle')),
    h('details', { dataset: { id: String(r.id) }, open: open.has(String(r.id)) },
      h('summary.small.muted', 'Message'),
      h('pre.review-message', r.message))))));
}
