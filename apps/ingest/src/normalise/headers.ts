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

function first(get: HeaderGetter, names: readonly string[]): string {
  for (const n of names) {
    const v = get(n);
    if (v !== '') return v;
  }
  return '';
}

/**
 * Fill the header-derived fields of a draft that the format did not already set: XFF, user agent, host,
 * api version, identity, raw credential, country, ASN.
 */
export function applyHeaders(d: Draft, get: HeaderGetter): void {
  if (d.xff === '') d.xff = get('x-forwarded-for');
  if (d.userAgent === '') d.userAgent = get('user-agent');
  if (d.host === '') d.host = get('host');
  if (d.requestId === '') d.requestId = get('x-request-id');
  if (d.apiVersion === '') d.apiVersion = first(get, VERSION_HEADERS);
  if (d.identity === '') d.identity = first(get, IDENTITY_HEADERS);
  if (d.credential === '') {
    d.credential =
      credentialFromKeyHeader(get('x-api-key')) || credentialFromKeyHeader(get('apikey')) || credentialFromAuthorization(get('authorization'));
  }
  if (d.country === '') d.country = first(get, COUNTRY_HEADERS);
  if (d.asn === 0 || d.asn === '') d.asn = first(get, ASN_HEADERS);
}
