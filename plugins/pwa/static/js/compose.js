// The compose bar and the virtual key bar under the terminal.
// The compose bar is a normal textarea, so everything a phone keyboard sends lands in it:
// typing, autocorrect, dictation, third-party keyboards. Return (or Send) forwards the text to
// the agent's stdin followed by Enter. The key bar sends the keys phones lack, and its buttons
// never take focus, so the soft keyboard stays up between taps.
import { h, toast } from './dom.js';
import { api, enc } from './api.js';
import { sendInput } from './input.js';
import { attachSkills } from './skills.js';

export const KEYS = [
  { label: 'Esc', seq: '\x1b', name: 'esc' },
  { label: 'Tab', seq: '\t', name: 'tab' },
  { label: '⇧Tab', seq: '\x1b[Z', name: 'shift-tab' },
  { label: '←', seq: '\x1b[D', name: 'left' },
  { label: '↑', seq: '\x1b[A', name: 'up' },
  { label: '↓', seq: '\x1b[B', name: 'down' },
  { label: '→', seq: '\x1b[C', name: 'right' },
  { label: '^C', seq: '\x03', name: 'ctrl-c' },
  { label: '⏎', seq: '\r', name: 'enter' },
];

function paperclip() {
  const span = h('span.ico');
  span.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none" '
    + 'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21 '
    + '11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9"/></svg>';
  return span;
}

/** Build the key bar for a task. */
export function keyBar(taskId) {
  const keep = (e) => e.preventDefault(); // do not steal focus from the compose field
  return h('div.keybar', { role: 'toolbar', 'aria-label': 'Keys' },
    KEYS.map((k) => h('button.key', {
      type: 'button', tabindex: '-1', 'data-key': k.name, 'aria-label': k.name,
      on: { pointerdown: keep, mousedown: keep, click: () => sendInput(taskId, k.seq) },
    }, k.label)));
}

/** Build the compose bar for a task; project() gives the project for skill lookup. */
export function composeBar(taskId, project) {
  const ta = h('textarea.compose-input#compose-input', {
    rows: 1, placeholder: 'Message the agent…', 'aria-label': 'Compose', enterkeyhint: 'send',
    autocapitalize: 'sentences', autocomplete: 'off',
  });
  const suggestions = h('div.suggestions.up', { hidden: true });
  const skills = attachSkills(ta, suggestions, project);
  const file = h('input', { type: 'file', multiple: true, hidden: true });

  function grow() {
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, 140)}px`;
  }

  function send() {
    const text = ta.value;
    // The text goes as one write (newlines from dictation or paste stay line feeds), then a
    // separate carriage return submits it, so agents that treat a burst as a paste still submit.
    if (text) sendInput(taskId, text.replace(/\r\n?/g, '\n').replace(/\n+$/, ''), { onError: onErr });
    sendInput(taskId, '\r', { onError: onErr });
    ta.value = '';
    grow();
    skills.hide();
  }

  function onErr(err) {
    toast(`Not delivered: ${err.message}`, 'error');
  }

  ta.addEventListener('input', grow);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  // Soft keyboards (iOS return key, some Android IMEs) announce Enter only as a line-break input.
  ta.addEventListener('beforeinput', (e) => {
    if ((e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph') && !skills.isOpen()) {
      e.preventDefault();
      send();
    }
  });

  file.addEventListener('change', async () => {
    if (!file.files.length) return;
    const form = new FormData();
    for (const f of file.files) form.append('files', f, f.name);
    try {
      const out = await api(`/api/tasks/${enc(taskId)}/upload`, { method: 'POST', body: form });
      const paths = out.paths || [];
      ta.value = (ta.value ? `${ta.value} ` : '') + paths.join(' ');
      grow();
      toast(`Uploaded ${paths.length} file${paths.length === 1 ? '' : 's'}`, 'ok');
    } catch (err) {
      toast(`Upload failed: ${err.message}`, 'error');
    }
    file.value = '';
  });

  const keep = (e) => e.preventDefault();
  return h('form.compose', { on: { submit: (e) => { e.preventDefault(); send(); } } },
    suggestions,
    h('button.icon-btn.attach', { type: 'button', 'aria-label': 'Attach files', title: 'Attach files',
      on: { click: () => file.click() } }, paperclip()),
    file,
    ta,
    h('button.btn.primary.send#compose-send', { type: 'submit', tabindex: '-1', 'aria-label': 'Send',
      on: { pointerdown: keep, mousedown: keep } }, 'Send'));
}
