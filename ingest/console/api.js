// Talks to the ingest REST API with the bearer token kept for this browser tab only.
const KEY = 'tsunagaru.token';

export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

export async function get(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token() ?? ''}` } });
  if (res.status === 401) throw new Unauthorized('the token was refused');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

export async function post(path, payload) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token() ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload ?? {}),
  });
  if (res.status === 401) throw new Unauthorized('the token was refused');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}
