// Login: paste a token (master or device); it is checked against the daemon, then stored here.
import { api, setToken, OfflineError } from '../api.js';
import { h, mount } from '../dom.js';

const REASONS = {
  revoked: 'Your token was revoked or is no longer valid. Paste a new token to continue.',
  logout: 'Logged out. The token was forgotten on this device.',
};

/** Render the login screen; onLogin(next) is called once a token works. */
export function loginView(main, query, onLogin) {
  const reason = REASONS[query.get('reason')] || '';
  const next = query.get('next') || '/';
  const input = h('input#token-input', {
    type: 'password', name: 'token', autocomplete: 'current-password', autocapitalize: 'off',
    spellcheck: 'false', placeholder: 'Paste your token', 'aria-label': 'API token',
  });
  const error = h('p.error#login-error', { role: 'alert', hidden: true });
  const button = h('button.btn.primary.wide#login-btn', { type: 'submit' }, 'Connect');

  async function submit(e) {
    e.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    if (!token) {
      error.textContent = 'Paste a token first.';
      error.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      await api('/api/status', { token, quiet: true });
      setToken(token);
      onLogin(next);
    } catch (err) {
      error.textContent = err instanceof OfflineError
        ? "Can't reach the daemon. Is it running, and is Tailscale on?"
        : err.status === 401 ? 'That token was not accepted (unknown or revoked).' : err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  mount(main, h('section.login',
    h('img', { src: '/icons/icon-192.png', alt: '', width: 88, height: 88 }),
    h('h1', 'Argus'),
    h('p.tagline', 'Every agent at a glance.'),
    reason ? h('p.notice#login-reason', { role: 'status' }, reason) : null,
    h('form', { on: { submit } },
      h('label', 'API token', input),
      h('label.check', h('input#token-show', { type: 'checkbox', on: {
        change: (e) => { input.type = e.target.checked ? 'text' : 'password'; } } }), 'Show'),
      error,
      button),
    h('p.muted.small',
      'Use the master token from ~/.argus/api-token, or a device token minted under Settings → Tokens. ',
      'It is stored on this device only.')));
  input.focus();
}
