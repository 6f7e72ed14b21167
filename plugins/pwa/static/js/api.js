// The REST client: the stored token, JSON calls, and the two failure signals the app reacts to:
// "unauthorized" (token missing, invalid or revoked -> login) and "offline" (daemon unreachable).

const TOKEN_KEY = 'argus.token';
const listeners = { unauthorized: [], offline: [], online: [] };

/** An HTTP error answered by the daemon (4xx/5xx with a JSON {"error"} body). */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The daemon could not be reached at all (network error). */
export class OfflineError extends Error {}

/** Subscribe to 'unauthorized' | 'offline' | 'online'; returns an unsubscribe function. */
export function on(event, fn) {
  listeners[event].push(fn);
  return () => {
    const i = listeners[event].indexOf(fn);
    if (i >= 0) listeners[event].splice(i, 1);
  };
}

/** Fire an app-level signal. */
export function emit(event, detail) {
  for (const fn of listeners[event]) fn(detail);
}

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** Headers carrying the token. */
export function authHeaders(token = getToken()) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** A URL with ?token= for places that cannot send headers (iframes, links, EventSource). */
export function withToken(path) {
  const url = new URL(path, location.origin);
  url.searchParams.set('token', getToken());
  return url.pathname + url.search;
}

async function errorFrom(resp) {
  let body = null;
  let message = `${resp.status} ${resp.statusText}`;
  try {
    body = await resp.json();
    if (body && body.error) message = body.error;
  } catch { /* not JSON */ }
  return new ApiError(resp.status, message, body);
}

/**
 * Call the API. opts: {method, json, body, headers, token, raw, quiet}.
 * Returns parsed JSON (or the Response when raw). Throws ApiError / OfflineError.
 * A 401 fires 'unauthorized' unless quiet (login uses quiet to test a candidate token).
 */
export async function api(path, opts = {}) {
  const headers = { ...authHeaders(opts.token ?? getToken()), ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  let resp;
  try {
    resp = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store',
      signal: opts.signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    if (!opts.quiet) emit('offline', err);
    throw new OfflineError(String(err));
  }
  if (resp.status === 401) {
    const err = await errorFrom(resp);
    if (!opts.quiet) emit('unauthorized', err);
    throw err;
  }
  if (resp.status === 502 || resp.status === 503 || resp.status === 504) {
    // A proxy in front of a stopped daemon answers like this: treat it as unreachable.
    const err = await errorFrom(resp);
    if (!err.body && !opts.quiet) emit('offline', err);
    if (!err.body) throw new OfflineError(err.message);
    throw err;
  }
  if (!resp.ok) throw await errorFrom(resp);
  if (opts.raw) return resp;
  if (resp.status === 204) return null;
  const type = resp.headers.get('Content-Type') || '';
  if (type.includes('json')) return resp.json();
  return resp.text();
}

export const get = (path, opts) => api(path, opts);
export const post = (path, json, opts = {}) => api(path, { ...opts, method: 'POST', json: json ?? {} });
export const put = (path, json, opts = {}) => api(path, { ...opts, method: 'PUT', json });
export const del = (path, opts = {}) => api(path, { ...opts, method: 'DELETE' });

/** Encode a path segment (task ids, project names, file names). */
export const enc = encodeURIComponent;
