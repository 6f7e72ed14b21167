// A tiny History-API router: paths map to view functions; links with data-link navigate in-app.

const routes = [];
let current = null; // {cleanup}
let onChange = () => {};

/** Register a route: pattern like '/task/:id' and a handler(params, query) returning a cleanup fn. */
export function route(pattern, handler) {
  const keys = [];
  const re = new RegExp('^' + pattern.replace(/\/:([a-z]+)/gi, (_, k) => { keys.push(k); return '/([^/]+)'; })
    + '/?$');
  routes.push({ re, keys, handler, pattern });
}

/** Navigate to a path (pushState unless replace). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  render();
}

/** Called with the matched pattern after each render. */
export function setOnChange(fn) {
  onChange = fn;
}

/** Render the view for the current location. */
export function render() {
  if (current && current.cleanup) {
    try { current.cleanup(); } catch (err) { console.error(err); }
  }
  current = null;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
    onChange(r.pattern, params);
    const cleanup = r.handler(params, query);
    current = { cleanup };
    return;
  }
  navigate('/', { replace: true });
}

/** Start listening to link clicks and history navigation. */
export function start() {
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-link]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', render);
  render();
}
