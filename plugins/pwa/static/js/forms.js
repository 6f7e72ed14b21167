// Forms built from a field schema ({key, type, default, label, help, choices}) as the kernel's
// settings sections and plugin sections declare them.
import { h } from './dom.js';

/** One input for a field; returns {el, value()}. */
export function fieldInput(field, value, { disabled = false, prefix = 'f' } = {}) {
  const id = `${prefix}-${field.key}`.replace(/[^\w-]/g, '_');
  const v = value === undefined ? field.default : value;
  let input;
  let read;
  if (field.type === 'bool') {
    input = h('input', { id, type: 'checkbox', checked: !!v, disabled });
    read = () => input.checked;
    return { el: h('label.check.field', input, field.label || field.key,
      field.help ? h('span.help', field.help) : null), value: read, key: field.key };
  }
  if (field.type === 'enum') {
    input = h('select', { id, disabled }, (field.choices || []).map((c) => h('option', { value: c }, c)));
    input.value = v ?? '';
    read = () => input.value;
  } else if (field.type === 'int') {
    input = h('input', { id, type: 'number', inputmode: 'numeric', value: v ?? '', disabled });
    read = () => (input.value === '' ? null : Number(input.value));
  } else if (field.type === 'list') {
    input = h('input', { id, type: 'text', value: Array.isArray(v) ? v.join(', ') : (v ?? ''), disabled,
      autocapitalize: 'off', spellcheck: 'false' });
    read = () => input.value.split(',').map((s) => s.trim()).filter(Boolean);
  } else {
    input = h('input', { id, type: 'text', value: v ?? '', disabled, autocapitalize: 'off', spellcheck: 'false' });
    read = () => input.value;
  }
  return { el: h('label.field', field.label || field.key, input, field.help ? h('span.help', field.help) : null),
    value: read, key: field.key };
}

/** A form for a list of fields; onSave(values) is awaited on submit. */
export function schemaForm(fields, values, onSave, { disabled = false, prefix = 'f', saveLabel = 'Save' } = {}) {
  const inputs = fields.map((f) => fieldInput(f, values ? values[f.key] : undefined, { disabled, prefix }));
  const button = h('button.btn.primary', { type: 'submit', disabled }, saveLabel);
  const form = h('form.schema-form', {
    on: {
      submit: async (e) => {
        e.preventDefault();
        const out = {};
        for (const i of inputs) out[i.key] = i.value();
        button.disabled = true;
        try { await onSave(out); } finally { button.disabled = disabled; }
      },
    },
  }, inputs.map((i) => i.el), fields.length ? h('div.row.end', button) : null);
  return form;
}
