import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * Token identity. A raw secret is never stored: when a record carries only a raw credential, the event
 * gets `kh_<first 16 hex of HMAC-SHA256(hashKey, credential)>`. The same key under the same hash key always
 * maps to the same id, so per-token baselines still work; without the hash key the id cannot be reversed
 * or brute-forced offline.
 */

const CACHE_LIMIT = 10_000;
/** Per hash key: the key as a KeyObject (createHmac with a string key re-imports it on every call) and the ids. */
const caches = new Map<string, { key: KeyObject; ids: Map<string, string> }>();

export function keyedHash(hashKey: string, credential: string): string {
  let entry = caches.get(hashKey);
  if (!entry) {
    if (caches.size > 8) caches.clear();
    entry = { key: createSecretKey(Buffer.from(hashKey, 'utf8')), ids: new Map() };
    caches.set(hashKey, entry);
  }
  const cache = entry.ids;
  const hit = cache.get(credential);
  if (hit !== undefined) return hit;
  const id = 'kh_' + createHmac('sha256', entry.key).update(credential).digest('hex').slice(0, 16);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(credential, id);
  return id;
}

/** Values gateways log in place of a credential they already redacted. */
function isPlaceholder(v: string): boolean {
  return v === '' || v === '-' || v === 'REDACTED' || v === '[REDACTED]' || v === '***' || v === 'null';
}

/**
 * The credential in an Authorization header: the token of `Bearer <t>` / `Token <t>` / `ApiKey <t>`,
 * or the whole value for other schemes (Basic: user and password together). '' when absent or redacted.
 */
export function credentialFromAuthorization(header: string): string {
  const v = header.trim();
  if (isPlaceholder(v)) return '';
  const space = v.indexOf(' ');
  if (space > 0) {
    const scheme = v.slice(0, space).toLowerCase();
    const rest = v.slice(space + 1).trim();
    if (scheme === 'bearer' || scheme === 'token' || scheme === 'apikey') return isPlaceholder(rest) ? '' : rest;
  }
  return v;
}

/** A raw API key header value (`x-api-key`, `apikey`), '' when absent or already redacted. */
export function credentialFromKeyHeader(header: string): string {
  const v = header.trim();
  return isPlaceholder(v) ? '' : v;
}
