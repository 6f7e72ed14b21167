// Small DOM helpers: element builder, toasts, bottom sheets, confirm and prompt dialogs.

/** Build an element: h('div.cls#id', {attrs, on: {click}}, ...children). */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      for (const c of String(v).split(/\s+/).filter(Boolean)) el.classList.add(c);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'style' && typeof v === 'object') {
      Object.assign(el.style, v);
    } else if (k in el && typeof v !== 'string') {
      el[k] = v;
    } else if (k === 'value' || k === 'checked') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Show a short message at the bottom of the screen. kind: '', 'error', 'ok'. */
export function toast(message, kind = '', ms = 3500) {
  const box = document.getElementById('toasts');
  const t = h('div.toast', { role: 'status' }, message);
  if (kind) t.classList.add(kind);
  box.append(t);
  setTimeout(() => t.remove(), ms);
  return t;
}

let sheetClose = null;

/** Open a bottom sheet with the given content; returns a close function. */
export function sheet(title, content) {
  closeSheet();
  const overlay = document.getElementById('overlay');
  const panel = h('div.sheet', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
    h('div.sheet-head', h('strong', title),
      h('button.icon-btn', { type: 'button', 'aria-label': 'Close', on: { click: () => closeSheet() } }, '✕')),
    h('div.sheet-body', content));
  mount(overlay, panel);
  overlay.hidden = false;
  const onBackdrop = (e) => { if (e.target === overlay) closeSheet(); };
  const onKey = (e) => { if (e.key === 'Escape') closeSheet(); };
  overlay.addEventListener('click', onBackdrop);
  document.addEventListener('keydown', onKey);
  sheetClose = () => {
    overlay.removeEventListener('click', onBackdrop);
    document.removeEventListener('keydown', onKey);
    overlay.hidden = true;
    overlay.replaceChildren();
    sheetClose = null;
  };
  const first = panel.querySelector('input, textarea, select');
  if (first) first.focus();
  return closeSheet;
}

/** Close the open sheet, if any. */
export function closeSheet() {
  if (sheetClose) sheetClose();
}

/** Ask for confirmation in a sheet; resolves true or false. */
export function confirmDialog(title, message, okLabel = 'OK', danger = false) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => { if (!done) { done = true; closeSheet(); resolve(v); } };
    sheet(title, [
      h('p', message),
      h('div.row.end',
        h('button.btn', { type: 'button', on: { click: () => finish(false) } }, 'Cancel'),
        h(danger ? 'button.btn.danger' : 'button.btn.primary',
          { type: 'button', 'data-confirm': '', on: { click: () => finish(true) } }, okLabel)),
    ]);
    const prev = sheetClose;
    sheetClose = () => { prev(); if (!done) { done = true; resolve(false); } };
  });
}

/** Ask for a line of text in a sheet; resolves the string or null. */
export function promptDialog(title, label, value = '', okLabel = 'Save') {
  return new Promise((resolve) => {
    let done = false;
    const input = h('input', { type: 'text', value, 'aria-label': label, autocapitalize: 'off' });
    const finish = (v) => { if (!done) { done = true; closeSheet(); resolve(v); } };
    const form = h('form', { on: { submit: (e) => { e.preventDefault(); finish(input.value.trim()); } } },
      h('label', label, input),
      h('div.row.end',
        h('button.btn', { type: 'button', on: { click: () => finish(null) } }, 'Cancel'),
        h('button.btn.primary', { type: 'submit' }, okLabel)));
    sheet(title, form);
    const prev = sheetClose;
    sheetClose = () => { prev(); if (!done) { done = true; resolve(null); } };
    input.focus();
    input.select();
  });
}

/** "3m", "2h", "5d" since an RFC3339 timestamp. */
export function ago(ts) {
  if (!ts) return '';
  const s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Human size in bytes. */
export function size(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Copy text; works inside a user gesture on http (execCommand) and https (Clipboard API). */
export function copyText(text) {
  // The legacy path runs synchronously inside the gesture, which iOS Safari requires.
  const ta = h('textarea', { readonly: true, style: { position: 'fixed', top: '-1000px', opacity: '0' } });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  ta.setSelectionRange(0, text.length);
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  if (!ok && navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => true, () => false);
  }
  return Promise.resolve(ok);
}
