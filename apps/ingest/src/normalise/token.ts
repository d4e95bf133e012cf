import * as crypto from 'node:crypto';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * Token identity. A raw secret is never stored: when a record carries only a raw credential, the event
 * gets `kh_<first 16 hex of HMAC-SHA256(hashKey, credential)>`. The same key under the same hash key always
 * maps to the same id, so per-token baselines still work; without the hash key the id cannot be reversed
 * or brute-forced offline.
 */

const CACHE_LIMIT = 10_000;

// One-shot crypto.hash (Node >= 20.12); without it every id goes through createHmac.
const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: string) => string }).hash;

/**
 * HMAC-SHA256 as two one-shot digests, H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104): createHmac builds a Hmac
 * object per call, about 1.7 µs against 1.1 µs here. Only for a key of ASCII bytes no longer than the 64-byte block,
 * where K ^ ipad is ASCII text (so its UTF-8 encoding is those bytes); other keys use createHmac.
 */
interface TwoDigest {
  /** K ^ ipad as text (64 ASCII characters). */
  ipad: string;
  /** K ^ opad in bytes 0–63, the inner digest written into 64–95 per call. */
  outer: Buffer;
}

function twoDigest(hashKey: string): TwoDigest | null {
  if (oneShot === undefined) return null;
  const key = Buffer.from(hashKey, 'utf8');
  if (key.length > 64 || key.some((b) => b > 0x7f)) return null;
  const block = Buffer.alloc(64);
  key.copy(block);
  let ipad = '';
  const outer = Buffer.alloc(96);
  for (let i = 0; i < 64; i++) {
    ipad += String.fromCharCode(block[i]! ^ 0x36);
    outer[i] = block[i]! ^ 0x5c;
  }
  return { ipad, outer };
}

/**
 * Admission to the id cache (a "doorkeeper", as in TinyLFU): a credential is cached the second time it is seen, not
 * the first. Real keys repeat, so they still land in the cache after one extra HMAC each; one-off credentials
 * (scanners and credential stuffing try a new key per request) no longer fill it and clear out the real ones. They
 * were also the ingest parser's main garbage-collection cost: every cached entry (the credential and its id's
 * strings, ~180 bytes) survives the young generation, and on bench lines with a new raw key each time a scavenge
 * promoted ~215 KB and took 2.5-17 ms instead of ~0.5 ms. A bit per bucket (2^20 of them, 128 KiB) of a hash of the
 * credential's length and its last 48 characters (a long token differs at its end: a JWT's signature); the set is
 * cleared when 2^16 bits are set, so a false "seen" (which only caches a one-off key) stays under 1 in 16. Ids do not
 * depend on it.
 */
const SEEN_BITS = 1 << 20;
const SEEN_LIMIT = 1 << 16;
const seen = new Int32Array(SEEN_BITS >>> 5);
let seenCount = 0;

function seenBefore(credential: string): boolean {
  const n = credential.length;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  for (let i = n > 48 ? n - 48 : 0; i < n; i++) h = Math.imul(h ^ credential.charCodeAt(i), 0x01000193);
  const b = (h ^ (h >>> 12)) & (SEEN_BITS - 1);
  const bit = 1 << (b & 31);
  const word = b >>> 5;
  if ((seen[word]! & bit) !== 0) return true;
  if (seenCount >= SEEN_LIMIT) {
    seen.fill(0);
    seenCount = 0;
  }
  seen[word] = seen[word]! | bit;
  seenCount++;
  return false;
}

/** Per hash key: the key as a KeyObject (createHmac with a string key re-imports it on every call) and the ids. */
const caches = new Map<string, { key: KeyObject; fast: TwoDigest | null; ids: Map<string, string> }>();

export function keyedHash(hashKey: string, credential: string): string {
  let entry = caches.get(hashKey);
  if (!entry) {
    if (caches.size > 8) caches.clear();
    entry = { key: createSecretKey(Buffer.from(hashKey, 'utf8')), fast: twoDigest(hashKey), ids: new Map() };
    caches.set(hashKey, entry);
  }
  const cache = entry.ids;
  const hit = cache.get(credential);
  if (hit !== undefined) return hit;
  const fast = entry.fast;
  let hex: string;
  if (fast !== null) {
    // 'latin1' gives the inner digest's 32 bytes one character each, written back as bytes after K ^ opad.
    fast.outer.write(oneShot!('sha256', fast.ipad + credential, 'latin1'), 64, 32, 'latin1');
    hex = oneShot!('sha256', fast.outer, 'hex');
  } else {
    hex = createHmac('sha256', entry.key).update(credential).digest('hex');
  }
  const id = 'kh_' + hex.slice(0, 16);
  if (seenBefore(credential)) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(credential, id);
  }
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
