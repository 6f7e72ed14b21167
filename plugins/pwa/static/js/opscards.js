// Settings cards of the ops plugin: "Auto-start at login" (master token; the daemon writes the
// systemd user unit or LaunchAgent) and "Usage" (tokens and cost per day, as the CLIs reported them).
import { get, put } from './api.js';
import { h, mount, toast } from './dom.js';
import { usageText } from './marks.js';

function card(key, title, ...body) {
  return h('section.card', { dataset: { section: key } }, h('h3', title), body);
}

/** What the auto-start state says in words. */
export function autostartText(s) {
  const system = s.system || 'systemd';
  if (!s.available) {
    const why = s.reason || 'the service manager does not answer';
    return s.installed ? `On (the unit is written, but ${why}).` : `Unavailable: ${why}.`;
  }
  if (!s.installed) return `Off: the daemon does not start at login (${system}).`;
  const detail = system === 'launchd' ? (s.loaded ? 'loaded' : 'not loaded')
    : `${s.enabled ? 'enabled' : 'not enabled'}${s.active ? ', running' : ''}`;
  return `On: ${detail} (${system}).`;
}

/** The Auto-start card, or null when the daemon has no such route (ops plugin off). */
export async function autostartCard() {
  let state;
  try { state = await get('/api/autostart'); } catch (err) {
    if (err.status === 404) return null;
    const why = err.status === 403 ? 'Only the master token can change auto-start.' : err.message;
    return card('autostart', 'Auto-start at login', h('p.small.muted#autostart-state', why));
  }
  const text = h('p.small#autostart-state');
  const hint = h('p.small.muted#autostart-hint');
  const where = h('p.small.muted.path#autostart-where');
  const toggle = h('button.btn#autostart-toggle', { type: 'button' });
  const draw = (s) => {
    state = s;
    text.textContent = autostartText(s);
    text.dataset.installed = s.installed ? '1' : '0';
    hint.textContent = s.hint || '';
    where.textContent = s.unit || s.plist || '';
    toggle.textContent = s.installed ? 'Turn off' : 'Turn on';
    toggle.disabled = false;
  };
  toggle.addEventListener('click', async () => {
    toggle.disabled = true;
    try {
      const out = await put('/api/autostart', { enabled: !state.installed });
      draw(out);
      toast(out.installed ? 'Auto-start on' : 'Auto-start off', 'ok');
    } catch (err) { toast(err.message, 'error'); toggle.disabled = false; }
  });
  draw(state);
  return card('autostart', 'Auto-start at login', text, where, hint, toggle);
}

/** The Usage card: per-day totals (newest first), or null without the usage route. */
export async function usageCard() {
  let out;
  try { out = await get('/api/usage'); } catch (err) { return err.status === 404 ? null : card('usage', 'Usage', h('p.error', err.message)); }
  const days = Object.keys(out.days || {}).sort().reverse();
  const body = days.length
    ? h('table.usage-days#usage-days', h('tr', h('th', 'Day (UTC)'), h('th', 'Tokens and cost')),
      days.slice(0, 30).map((d) => h('tr', { dataset: { day: d } }, h('td', d), h('td', usageText(out.days[d])))))
    : h('p.small.muted#usage-days', 'Nothing reported by the agent CLIs yet.');
  return card('usage', 'Usage',
    h('p.small.muted', 'Tokens and cost as the agent CLIs record them (nothing is estimated).'), body);
}

/** Mount both cards into ``slot`` once they are loaded. */
export function opsCards(slot) {
  Promise.all([autostartCard(), usageCard()]).then(([a, u]) => {
    mount(slot, a, u);
    slot.dataset.state = 'shown';
  }).catch(() => { slot.dataset.state = 'absent'; });
}
