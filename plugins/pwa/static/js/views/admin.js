// Master-only token management, and the daemon's logs.
import { get, post, del, api, enc } from '../api.js';
import { h, mount, toast, confirmDialog, copyText, ago } from '../dom.js';
import { state, whenMasterKnown } from '../store.js';

/** Tokens: mint with a label (plaintext shown once), list with last 4, revoke. */
export function tokensView(main) {
  const list = h('ul.rows#tokens-list');
  const minted = h('div#minted');
  const label = h('input#token-label', { placeholder: 'Label, e.g. My iPhone', required: true, 'aria-label': 'Token label' });

  async function load() {
    try {
      const out = await get('/api/tokens');
      const tokens = out.tokens || [];
      mount(list, tokens.length ? tokens.map((t) => h('li', { dataset: { tokenId: t.id, revoked: t.revoked_at ? '1' : '' } },
        h('div.grow',
          h('strong', t.label || '(no label)'), ' ', h('code', `…${t.last4 || '????'}`),
          t.kind ? h('span.tag', t.kind) : null,
          h('div.muted.small', `created ${ago(t.created_at)} ago`,
            t.last_used_at ? ` · used ${ago(t.last_used_at)} ago` : ' · never used',
            t.revoked_at ? ` · revoked ${ago(t.revoked_at)} ago` : '')),
        t.revoked_at ? h('span.muted.small', 'revoked') : h('button.btn.small.danger', { type: 'button', on: { click: async () => {
          if (!await confirmDialog('Revoke token?', `Devices using "${t.label}" will be signed out.`, 'Revoke', true)) return;
          try { await del(`/api/tokens/${enc(t.id)}`); toast('Token revoked', 'ok'); load(); } catch (err) { toast(err.message, 'error'); }
        } } }, 'Revoke')))
        : h('li.muted', 'No device tokens yet.'));
    } catch (err) {
      mount(list, h('li.error', err.status === 403 ? 'Only the master token can manage tokens.' : err.message));
    }
  }

  const form = h('form.row#mint-form', { on: { submit: async (e) => {
    e.preventDefault();
    try {
      const out = await post('/api/tokens', { label: label.value.trim() });
      label.value = '';
      const code = h('code.secret#minted-token', out.token);
      mount(minted, h('div.card.notice',
        h('p', h('strong', `Token for ${out.label}`), ' — copy it now, it will not be shown again.'),
        code,
        h('div.row', h('button.btn.primary', { type: 'button', on: { click: async () => {
          toast(await copyText(out.token) ? 'Copied' : 'Copy failed');
        } } }, 'Copy'), h('button.btn', { type: 'button', on: { click: () => mount(minted) } }, 'Done'))));
      load();
    } catch (err) { toast(err.message, 'error'); }
  } } }, label, h('button.btn.primary', { type: 'submit' }, 'Mint'));

  const notice = h('p.notice', { hidden: true }, 'Only the master token can manage tokens.');
  mount(main, h('section.page.tokens',
    h('h2', 'Tokens'), notice,
    h('p.small.muted', 'One token per device. Only SHA-256 hashes are stored; the plaintext is shown once.'),
    form, minted, list));
  whenMasterKnown().then(() => { notice.hidden = state.isMaster; });
  load();
  return () => {};
}

/** Logs: tail of the daemon and ux logs. */
export function logsView(main, _params, query) {
  let which = query.get('log') === 'ux' ? 'ux' : 'daemon';
  const pre = h('pre.log#log-text');
  const tabs = h('div.tabs', ['daemon', 'ux'].map((k) => h('button.tab', { type: 'button', dataset: { log: k },
    on: { click: () => { which = k; load(); } } }, k)));

  async function load() {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.log === which));
    pre.textContent = 'Loading…';
    try {
      const text = await api(`/api/logs/${which}?bytes=131072`);
      pre.textContent = (typeof text === 'string' ? text : JSON.stringify(text)) || '(empty)';
      pre.scrollTop = pre.scrollHeight;
    } catch (err) {
      pre.textContent = err.message;
    }
  }
  mount(main, h('section.page.logs', h('div.row', h('h2.grow', 'Logs'),
    h('button.btn.small', { type: 'button', on: { click: load } }, 'Refresh')), tabs, pre));
  load();
  return () => {};
}
