// The knowledge base: search the vault as you type, read a note with its links and backlinks.
// /notes?q=... is the search, /notes?path=... a note. Everything is text (no HTML from notes).
import { get, enc } from '../api.js';
import { h, mount } from '../dom.js';
import { onEvent } from '../store.js';

const DELAY_MS = 150;

/** A snippet whose **matches** become <mark> elements (built as text nodes: nothing is parsed as HTML). */
function snippet(text) {
  const out = h('p.kb-snippet');
  String(text || '').split(/\*\*(.+?)\*\*/s).forEach((part, i) => {
    out.append(i % 2 ? h('mark', part) : document.createTextNode(part));
  });
  return out;
}

function noteLink(path, label, q) {
  const href = `/notes?path=${enc(path)}${q ? `&q=${enc(q)}` : ''}`;
  return h('a', { href, 'data-link': '' }, label);
}

function statusLine(s) {
  if (!s.enabled) return 'The knowledge base is off: enable it in Settings → Knowledge base.';
  if (s.error) return s.error;
  const p = s.progress || {};
  if (s.indexing) return `Indexing… ${p.seen || 0}/${p.total ?? '?'} files`;
  return `${s.documents} notes · watcher ${s.watcher}${s.error_count ? ` · ${s.error_count} files with problems` : ''}`;
}

/** /notes: the search screen, or one note when ?path= is given. */
export function notesView(main, query) {
  return query.get('path') ? noteView(main, query.get('path'), query.get('q') || '') : searchView(main, query.get('q') || '');
}

function searchView(main, initial) {
  const input = h('input#kb-search', { type: 'search', placeholder: 'Search notes', value: initial,
    autocomplete: 'off', 'aria-label': 'Search notes' });
  const status = h('p.small.muted#kb-status', '');
  const list = h('ul.rows#kb-results');
  let timer = null;
  let seq = 0;

  async function loadStatus() {
    try { status.textContent = statusLine(await get('/api/kb/status')); } catch (err) { status.textContent = err.message; }
  }

  async function search(q) {
    const mine = ++seq;
    history.replaceState(null, '', q ? `/notes?q=${enc(q)}` : '/notes');
    if (!q.trim()) { mount(list); return; }
    try {
      const out = await get(`/api/kb/search?q=${enc(q)}&limit=30`);
      if (mine !== seq) return;
      mount(list, out.results.length ? out.results.map((r) => h('li.kb-result', { dataset: { path: r.path } },
        h('div.grow',
          h('strong', noteLink(r.path, r.title, q)),
          h('div.muted.small', r.path, ' ', (r.tags || []).map((t) => h('span.tag', `#${t}`))),
          snippet(r.snippet))))
        : h('li.muted', 'No note matches.'));
    } catch (err) {
      if (mine === seq) mount(list, h('li.error', err.message));
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value), DELAY_MS);
  });
  const off = onEvent((ev) => {
    if (ev.type === 'kb.index.progress' || ev.type === 'settings.updated') loadStatus();
  });
  mount(main, h('section.page.notes', h('h2', 'Notes'), input, status, list));
  loadStatus();
  if (initial) search(initial);
  setTimeout(() => input.focus(), 0);
  return () => { clearTimeout(timer); off(); };
}

function noteView(main, path, q) {
  const page = h('section.page.note', h('p.muted', 'Loading…'));
  mount(main, page);
  (async () => {
    try {
      const n = await get(`/api/kb/note?path=${enc(path)}`);
      const links = (n.links || []).map((l) => (l.path ? noteLink(l.path, l.display || l.target, q)
        : h('span.muted', { title: 'no such note' }, l.target)));
      mount(page,
        h('p.small', h('a#kb-back', { href: q ? `/notes?q=${enc(q)}` : '/notes', 'data-link': '' }, '‹ Notes')),
        h('h2#kb-title', n.title),
        h('div.muted.small', n.path, ' ', (n.tags || []).map((t) => h('span.tag', `#${t}`))),
        n.frontmatter_error ? h('p.notice', n.frontmatter_error) : null,
        links.length ? h('p.small#kb-links', 'Links: ', links.flatMap((a, i) => (i ? [', ', a] : [a]))) : null,
        n.backlinks && n.backlinks.length ? h('p.small#kb-backlinks', 'Linked from: ',
          n.backlinks.flatMap((b, i) => { const a = noteLink(b.path, b.title, q); return i ? [', ', a] : [a]; })) : null,
        h('pre.kb-body#kb-content', n.content),
        n.truncated ? h('p.muted.small', 'Only the first 2 MB are shown.') : null);
    } catch (err) {
      mount(page, h('p.error', err.message), h('p', h('a', { href: '/notes', 'data-link': '' }, '‹ Notes')));
    }
  })();
  return () => {};
}
