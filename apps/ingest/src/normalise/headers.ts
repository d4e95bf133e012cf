import { credentialFromAuthorization, credentialFromKeyHeader } from './token.js';
import type { Draft } from './draft.js';

/** Look up a header by its lower-case name; returns '' when absent. */
export type HeaderGetter = (lowerName: string) => string;

/** A JSON value of a header as gateways log it: a string, a number, or an array for repeated headers. */
export function headerText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(', ');
  return '';
}

/** Getter over a header object whose keys are already lower case (Kong, APISIX). */
export function lowerCaseHeaders(h: unknown): HeaderGetter {
  if (h === null || typeof h !== 'object') return () => '';
  const bag = h as Record<string, unknown>;
  return (name) => headerText(bag[name]);
}

/** Getter over a header object with keys in any case (built once per record). */
export function anyCaseHeaders(h: Record<string, unknown>): HeaderGetter {
  const lower = new Map<string, string>();
  for (const k of Object.keys(h)) lower.set(k.toLowerCase(), headerText(h[k]));
  return (name) => lower.get(name) ?? '';
}

/** Identity headers set by an authenticating proxy in front of the logger (Kong, ext_authz, forwardAuth…). */
const IDENTITY_HEADERS = ['x-consumer-username', 'x-consumer-custom-id', 'x-consumer-id', 'x-credential-identifier', 'x-api-key-id'];
const VERSION_HEADERS = ['api-version', 'x-api-version', 'accept-version'];
const COUNTRY_HEADERS = ['cf-ipcountry', 'x-geo-country', 'x-country-code', 'cloudfront-viewer-country', 'x-client-geo-country'];
const ASN_HEADERS = ['x-asn', 'x-geo-asn', 'cf-ipasn', 'x-client-asn'];

/**
 * Every header applyHeaders reads, each with a slot. A record's header object is walked once (a handful of keys,
 * one Map lookup each) instead of being probed for all ~22 names: on Kong/APISIX records that was most of toDraft.
 */
const XFF = 0;
const USER_AGENT = 1;
const HOST = 2;
const REQUEST_ID = 3;
const X_API_KEY = 4;
const APIKEY = 5;
const AUTHORIZATION = 6;
const SLOT_NAMES: readonly string[] = [
  'x-forwarded-for', 'user-agent', 'host', 'x-request-id', 'x-api-key', 'apikey', 'authorization',
  ...VERSION_HEADERS, ...IDENTITY_HEADERS, ...COUNTRY_HEADERS, ...ASN_HEADERS,
];
const VERSION_FROM = 7;
const IDENTITY_FROM = VERSION_FROM + VERSION_HEADERS.length;
const COUNTRY_FROM = IDENTITY_FROM + IDENTITY_HEADERS.length;
const ASN_FROM = COUNTRY_FROM + COUNTRY_HEADERS.length;
const SLOT_END = ASN_FROM + ASN_HEADERS.length;
const SLOT_OF = new Map<string, number>(SLOT_NAMES.map((n, i) => [n, i]));
/** Scratch slots, reset per record (parsing is synchronous, so one set serves every call). */
const slots: string[] = SLOT_NAMES.map(() => '');
/** Bit i set when slot i was written since the last clearSlots() (SLOT_END ≤ 31): a record sets a few of them. */
let written = 0;
const VERSION_MASK = rangeMask(VERSION_FROM, IDENTITY_FROM);
const IDENTITY_MASK = rangeMask(IDENTITY_FROM, COUNTRY_FROM);
const COUNTRY_MASK = rangeMask(COUNTRY_FROM, ASN_FROM);
const ASN_MASK = rangeMask(ASN_FROM, SLOT_END);
if (SLOT_END > 31) throw new Error('header slots no longer fit the 31-bit written mask');
const CREDENTIAL_MASK = (1 << X_API_KEY) | (1 << APIKEY) | (1 << AUTHORIZATION);

function rangeMask(from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m |= 1 << i;
  return m;
}

function setSlot(i: number, v: string): void {
  slots[i] = v;
  written |= 1 << i;
}

function clearSlots(): void {
  for (let i = 0; written !== 0; i++, written >>>= 1) if ((written & 1) !== 0) slots[i] = '';
}

/** The first non-empty slot in [from, to), in the order of the name lists above. */
function firstSlot(from: number, to: number): string {
  for (let i = from; i < to; i++) if (slots[i] !== '') return slots[i]!;
  return '';
}

function applySlots(d: Draft): void {
  if (d.xff === '') d.xff = slots[XFF]!;
  if (d.userAgent === '') d.userAgent = slots[USER_AGENT]!;
  if (d.host === '') d.host = slots[HOST]!;
  if (d.requestId === '') d.requestId = slots[REQUEST_ID]!;
  // A range with no slot written holds only '': firstSlot would return '' (and the credential readers '' too).
  if (d.apiVersion === '' && (written & VERSION_MASK) !== 0) d.apiVersion = firstSlot(VERSION_FROM, IDENTITY_FROM);
  if (d.identity === '' && (written & IDENTITY_MASK) !== 0) d.identity = firstSlot(IDENTITY_FROM, COUNTRY_FROM);
  if (d.credential === '' && (written & CREDENTIAL_MASK) !== 0) {
    d.credential =
      credentialFromKeyHeader(slots[X_API_KEY]!) || credentialFromKeyHeader(slots[APIKEY]!) || credentialFromAuthorization(slots[AUTHORIZATION]!);
  }
  if (d.country === '' && (written & COUNTRY_MASK) !== 0) d.country = firstSlot(COUNTRY_FROM, ASN_FROM);
  if (d.asn === 0 || d.asn === '') d.asn = (written & ASN_MASK) !== 0 ? firstSlot(ASN_FROM, SLOT_END) : '';
}

/**
 * Fill the header-derived fields of a draft that the format did not already set: XFF, user agent, host,
 * api version, identity, raw credential, country, ASN.
 */
export function applyHeaders(d: Draft, get: HeaderGetter): void {
  clearSlots();
  for (let i = 0; i < SLOT_END; i++) setSlot(i, get(SLOT_NAMES[i]!));
  applySlots(d);
}

/**
 * applyHeaders over a header object whose keys are already lower case (Kong, APISIX): the same result as
 * `applyHeaders(d, lowerCaseHeaders(h))`, with one pass over the object's own keys.
 */
export function applyLowerCaseHeaders(d: Draft, h: unknown): void {
  clearSlots();
  if (h !== null && typeof h === 'object') {
    const bag = h as Record<string, unknown>;
    for (const k in bag) {
      const i = SLOT_OF.get(k);
      if (i !== undefined) setSlot(i, headerText(bag[k]));
    }
  }
  applySlots(d);
}

/** Per prefix, the slot (or -1) of each prefixed key seen (`request_User-Agent`): gateways repeat the same few keys. */
const PREFIXED_SLOTS = new Map<string, Map<string, number>>();
const PREFIXED_LIMIT = 4096;

function prefixedSlot(slotsOf: Map<string, number>, key: string, prefixLength: number): number {
  let i = slotsOf.get(key);
  if (i === undefined) {
    i = SLOT_OF.get(key.slice(prefixLength).toLowerCase()) ?? -1;
    if (key.length > 64) return i; // no header read is that long; keeps the cache small whatever records carry
    if (slotsOf.size >= PREFIXED_LIMIT) slotsOf.clear();
    slotsOf.set(key, i);
  }
  return i;
}

/**
 * applyHeaders over headers kept as prefixed keys of the record itself in any case (Traefik's
 * `request_User-Agent`): names are lower-cased, and when two keys lower-case alike the later one wins.
 * Returns false, leaving the draft alone, when the record has no such key.
 */
export function applyPrefixedHeaders(d: Draft, r: Record<string, unknown>, prefix: string): boolean {
  let found = false;
  const p = prefix.length;
  const last = prefix.charCodeAt(p - 1);
  let slotsOf = PREFIXED_SLOTS.get(prefix);
  if (slotsOf === undefined) {
    if (PREFIXED_SLOTS.size >= 16) PREFIXED_SLOTS.clear();
    slotsOf = new Map();
    PREFIXED_SLOTS.set(prefix, slotsOf);
  }
  for (const k in r) {
    if (k.length > p && k.charCodeAt(p - 1) === last && k.startsWith(prefix)) {
      if (!found) {
        clearSlots();
        found = true;
      }
      const i = prefixedSlot(slotsOf, k, p);
      if (i !== -1) setSlot(i, headerText(r[k]));
    }
  }
  if (found) applySlots(d);
  return found;
}
