// Small marks of a task, from the Task JSON's declared fields: its usage ("12.3k tok $0.41", only
// when the agent CLI reported it) and "conflicts with" (other live tasks changing the same files).
import { h } from './dom.js';
import { enc } from './api.js';

const TOKEN_KEYS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'];

/** 950, 12.3k, 4.1M. */
export function compactCount(n) {
  for (const [div, unit] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
    if (n >= div) { const v = n / div; return `${v < 100 ? v.toFixed(1) : v.toFixed(0)}${unit}`; }
  }
  return String(n);
}

/** "12.3k tok $0.41" (the cost only when reported); '' when the usage is unknown. */
export function usageText(usage) {
  if (!usage || typeof usage !== 'object') return '';
  const total = TOKEN_KEYS.reduce((sum, k) => sum + (Number.isInteger(usage[k]) && usage[k] > 0 ? usage[k] : 0), 0);
  const cost = typeof usage.cost_usd === 'number' ? ` $${usage.cost_usd.toFixed(2)}` : '';
  return `${compactCount(total)} tok${cost}`;
}

/** The tasks a task conflicts with: [{id, name}] ('' names fall back to the id). */
export function conflicts(task, tasks) {
  const ids = Array.isArray(task.conflicts_with) ? task.conflicts_with : [];
  return ids.map((id) => { const t = tasks.get(id); return { id, name: (t && (t.name || t.slug)) || id }; });
}

/** A "⚠ conflicts: a, b" badge for the list (null when none). */
export function conflictBadge(task, tasks) {
  const others = task.archived ? [] : conflicts(task, tasks);
  if (!others.length) return null;
  const names = others.map((o) => o.name).join(', ');
  return h('span.badge.conflict', { title: `Changes files that ${names} also change` }, `⚠ conflicts: ${names}`);
}

/** The task view's line: "⚠ Conflicts with" and links to the other tasks (null when none). */
export function conflictLine(task, tasks) {
  const others = task.archived ? [] : conflicts(task, tasks);
  if (!others.length) return null;
  return h('p.small.conflict-line', '⚠ Conflicts with ',
    others.map((o, i) => [i ? ', ' : '', h('a', { href: `/task/${enc(o.id)}`, 'data-link': '' }, o.name)]),
    ': both change the same files.');
}
