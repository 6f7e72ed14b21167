// Slash-skill autocomplete for a textarea: typing "/" at the start of a word lists skills from
// /api/skills (user, project and plugin skills); tapping one inserts "/name ".
import { get, enc } from './api.js';
import { h, mount } from './dom.js';

/**
 * Attach autocomplete to `textarea`; `box` is the element the suggestions render into;
 * `project()` returns the current project name (or '').
 */
export function attachSkills(textarea, box, project = () => '') {
  let seq = 0;
  let items = [];
  let active = 0;

  function wordAtCursor() {
    const pos = textarea.selectionStart;
    const before = textarea.value.slice(0, pos);
    const m = /(^|\s)\/([\w:.-]*)$/.exec(before);
    return m ? { start: pos - m[2].length - 1, end: pos, query: m[2] } : null;
  }

  function hide() {
    items = [];
    box.hidden = true;
    box.replaceChildren();
  }

  function choose(skill) {
    const w = wordAtCursor();
    if (!w) return hide();
    const text = textarea.value;
    const insert = `/${skill.name} `;
    textarea.value = text.slice(0, w.start) + insert + text.slice(w.end);
    const pos = w.start + insert.length;
    textarea.setSelectionRange(pos, pos);
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
    hide();
  }

  function render() {
    if (!items.length) return hide();
    box.hidden = false;
    mount(box, items.map((s, i) => h('button.skill', {
      type: 'button', class: i === active ? 'active' : null, dataset: { skill: s.name },
      on: {
        pointerdown: (e) => e.preventDefault(), // keep the keyboard up
        click: () => choose(s),
      },
    }, h('strong', `/${s.name}`), s.description ? h('span.muted', ` ${s.description}`) : null,
    s.source ? h('span.tag', s.source) : null)));
  }

  async function update() {
    const w = wordAtCursor();
    if (!w) return hide();
    const my = ++seq;
    const p = project();
    try {
      const out = await get(`/api/skills?filter=${enc(w.query)}${p ? `&project=${enc(p)}` : ''}`);
      if (my !== seq) return;
      items = (out.skills || []).slice(0, 8);
      active = 0;
      render();
    } catch {
      hide();
    }
  }

  textarea.addEventListener('input', update);
  textarea.addEventListener('blur', () => setTimeout(hide, 150));
  textarea.addEventListener('keydown', (e) => {
    if (box.hidden || !items.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      render();
    } else if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      choose(items[active]);
    } else if (e.key === 'Escape') {
      e.stopImmediatePropagation();
      hide();
    }
  });
  return { hide, isOpen: () => !box.hidden && items.length > 0 };
}
