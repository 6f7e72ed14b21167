// The smaller task tabs: files browser, links picker, artifacts viewer.
import { api, get, enc } from '../api.js';
import { h, mount, size } from '../dom.js';

/** Worktree file browser: folders navigate, a breadcrumb climbs back. Returns {el, load()}. */
export function filesView(taskId) {
  const crumbs = h('nav.crumbs');
  const list = h('ul.file-browser');
  const el = h('section.files-view', crumbs, list);
  let dir = '';

  async function load(next = dir) {
    dir = next;
    const parts = dir ? dir.split('/') : [];
    mount(crumbs,
      h('button.link', { type: 'button', on: { click: () => load('') } }, 'worktree'),
      parts.map((p, i) => [' / ', h('button.link', { type: 'button',
        on: { click: () => load(parts.slice(0, i + 1).join('/')) } }, p)]));
    mount(list, h('li.muted', 'Loading…'));
    try {
      const out = await get(`/api/tasks/${enc(taskId)}/files${dir ? `?dir=${enc(dir)}` : ''}`);
      const entries = [...(out.entries || [])].sort((a, b) =>
        (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || a.name.localeCompare(b.name));
      mount(list, entries.length ? entries.map((e) => h('li', { dataset: { path: e.path, type: e.type } },
        e.type === 'dir'
          ? h('button.entry', { type: 'button', on: { click: () => load(e.path) } }, h('span.ico', '▸'), e.name)
          : h('span.entry', h('span.ico.muted', '·'), e.name, h('span.muted.small', ` ${size(e.size)}`))))
        : h('li.muted', 'Empty folder.'));
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }
  return { el, load: () => load(dir) };
}

/** Links picker: every URL seen in the terminal, filterable. Returns {el, load()}. */
export function linksView(taskId) {
  const filter = h('input.filter', { type: 'search', placeholder: 'Filter links', 'aria-label': 'Filter links' });
  const list = h('ul.links');
  const el = h('section.links-view', filter, list);
  let links = [];

  function render() {
    const q = filter.value.toLowerCase();
    const shown = links.filter((l) => !q || `${l.label} ${l.url}`.toLowerCase().includes(q));
    mount(list, shown.length ? shown.map((l) => h('li',
      h('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer' },
        h('span.link-label', l.label || l.url), l.label && l.label !== l.url ? h('span.muted.small', l.url) : null)))
      : h('li.muted', links.length ? 'No link matches.' : 'No links in the output yet.'));
  }
  filter.addEventListener('input', render);

  async function load() {
    mount(list, h('li.muted', 'Loading…'));
    try {
      links = (await get(`/api/tasks/${enc(taskId)}/links`)).links || [];
      render();
    } catch (err) {
      mount(list, h('li.error', err.message));
    }
  }
  return { el, load };
}

/**
 * Artifacts: list what the agent registered and show one. Bytes are fetched with the token in a
 * header (never in a URL the artifact could read); HTML renders in a sandboxed srcdoc iframe
 * (opaque origin, and the app's policy keeps scripts off), images and PDFs through blob URLs.
 */
export function artifactsView(taskId) {
  const list = h('ul.artifacts');
  const viewer = h('div.artifact-viewer', { hidden: true });
  const el = h('section.artifacts-view', list, viewer);
  let blobUrl = null;

  function close() {
    viewer.hidden = true;
    viewer.replaceChildren();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
  }

  async function open(a) {
    close();
    const type = (a.type || '').toLowerCase();
    const title = a.title || a.name;
    const frame = h('div.artifact-content', h('p.muted', 'Loading…'));
    viewer.hidden = false;
    mount(viewer, h('div.toolbar', h('strong.grow', title),
      h('button.btn.small', { type: 'button', on: { click: close } }, 'Close')), frame);
    try {
      const resp = await api(`/api/tasks/${enc(taskId)}/artifacts/${enc(a.name)}`, { raw: true });
      const blob = await resp.blob();
      if (type.includes('html') || /\.html?$/i.test(a.name)) {
        const iframe = h('iframe.artifact-frame', { sandbox: 'allow-popups', title, referrerpolicy: 'no-referrer' });
        iframe.srcdoc = await blob.text();
        mount(frame, iframe);
      } else if (type.includes('image') || /\.(png|jpe?g|gif|webp)$/i.test(a.name)) {
        blobUrl = URL.createObjectURL(blob);
        mount(frame, h('img.artifact-img', { src: blobUrl, alt: title }));
      } else if (type.includes('pdf') || /\.pdf$/i.test(a.name)) {
        blobUrl = URL.createObjectURL(new Blob([blob], { type: 'application/pdf' }));
        mount(frame, h('p', h('a.btn', { href: blobUrl, target: '_blank', rel: 'noopener' }, 'Open PDF')));
      } else {
        mount(frame, h('pre.artifact-text', await blob.text()));
      }
    } catch (err) {
      mount(frame, h('p.error', err.message));
    }
  }

  async function load() {
    mount(list, h('li.muted', 'Loading…'));
    try {
      const out = await get(`/api/tasks/${enc(taskId)}/artifacts`);
      const items = out.artifacts || [];
      mount(list, items.length ? items.map((a) => h('li',
        h('button.entry', { type: 'button', dataset: { artifact: a.name }, on: { click: () => open(a) } },
          h('strong', a.title || a.name), h('span.muted.small', ` ${a.type || ''} ${size(a.size)}`))))
        : h('li.muted', 'No artifacts registered. Agents add them with artifact_register.'));
    } catch (err) {
      mount(list, h('li.muted', err.status === 404 ? 'Artifacts are not available on this daemon.' : err.message));
    }
  }
  return { el, load, dispose: close };
}
