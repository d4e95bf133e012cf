import { AccessEvent, validate, type LogFormat } from '@vigil/contracts';
import { resolveApiVersion } from './api-version.js';
import { checkAccessEvent } from './check-event.js';
import { clientIpOf, lastBadHop, type TrustedProxies } from './client-ip.js';
import { hasControlChars } from './control-chars.js';
import type { Draft } from './draft.js';
import { contentEventId, requestEventId } from './event-id.js';
import { normaliseAsn, normaliseCountry } from './geo.js';
import { scanQuery, type QueryScan } from './query.js';
import { reject, show, type Rejection } from './reject.js';
import { gatewayRoute, templatePath } from './route-template.js';
import { normaliseTls } from './tls.js';
import { keyedHash } from './token.js';

export const DAY_MS = 86_400_000;

export interface NormaliseOptions {
  tenant: string;
  /** Wall-clock time of ingestion (epoch ms), for the timestamp sanity check. */
  now: number;
  trustedProxies: TrustedProxies;
  /** Key of the HMAC that turns a raw credential into a token id. */
  hashKey: string;
  /** How far in the future an event may be (clock skew). Default 1 day. */
  maxFutureMs?: number;
  /** How old an event may be. Default 30 days. */
  maxAgeMs?: number;
  /**
   * 'gateway' (default): use the gateway's route name when the record has one, else the path template.
   * 'template': always the path template (comparable across gateways).
   */
  routeSource?: 'gateway' | 'template';
  /** Validate the final event with the zod schema instead of the equivalent hand-written check. */
  zodCheck?: boolean;
}

const MAX_PATH = 8192;

/** scanQuery('') without a new object per record (about half of all records have no query). */
const NO_QUERY: Readonly<QueryScan> = Object.freeze({ query: '', credential: '', apiVersion: '' });

function cap(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** An HTTP method token (RFC 9110 tchar), 1–16 characters. */
function isMethod(m: string): boolean {
  if (m.length === 0 || m.length > 16) return false;
  for (let i = 0; i < m.length; i++) {
    const c = m.charCodeAt(i);
    const ok =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 33 ||
      c === 35 || c === 36 || c === 37 || c === 38 || c === 39 || c === 42 || c === 43 || c === 94 || c === 96 || c === 124 || c === 126;
    if (!ok) return false;
  }
  return true;
}

/**
 * Turn a draft into an AccessEvent, or say why not. `raw` is the record text, used for the content-hash id
 * when the record has no request id.
 *
 * Overlong free-text fields (user agent, host, request id, path, query) are truncated to the schema limits
 * rather than rejected: long values are themselves attack signals the detector should see.
 */
export type NormaliseResult = { ok: true; event: AccessEvent } | ({ ok: false } & Rejection);

function fail(r: Rejection): NormaliseResult {
  return { ok: false, reason: r.reason, message: r.message };
}

export function normaliseDraft(d: Draft, format: LogFormat, raw: string, o: NormaliseOptions): NormaliseResult {
  // Time
  if (d.ts === undefined) return fail(reject('missing_timestamp', 'the record has no timestamp'));
  if (Number.isNaN(d.ts)) return fail(reject('invalid_timestamp', `unparsable timestamp ${show(d.tsRaw ?? '')}`));
  const maxFuture = o.maxFutureMs ?? DAY_MS;
  const maxAge = o.maxAgeMs ?? 30 * DAY_MS;
  if (d.ts > o.now + maxFuture) {
    return fail(reject('absurd_timestamp', `timestamp ${new Date(d.ts).toISOString()} is more than ${maxFuture} ms in the future`));
  }
  if (d.ts < o.now - maxAge) {
    return fail(reject('absurd_timestamp', `timestamp ${new Date(d.ts).toISOString()} is more than ${maxAge} ms old`));
  }

  // Request line
  if (hasControlChars(d.method) || hasControlChars(d.path) || hasControlChars(d.query) || hasControlChars(d.host)) {
    return fail(reject('control_characters', `control characters in method, path, query or host: ${show(d.method + ' ' + d.path + (d.query ? '?' + d.query : ''))}`));
  }
  if (!isMethod(d.method)) return fail(reject('invalid_method', `not an HTTP method: ${show(d.method)}`));
  if (d.path === '') return fail(reject('malformed', 'the record has no request path'));

  // Outcome
  const status = d.status;
  if (!(Number.isInteger(status) && status >= 100 && status <= 599)) {
    return fail(reject('invalid_status', Number.isNaN(status) ? 'the record has no status code' : `status ${show(status)} is not an HTTP status (100–599)`));
  }
  const latencyMs = d.latencyMs;
  if (!(latencyMs >= 0 && latencyMs <= 3_600_000)) {
    return fail(reject('invalid_latency', `latency ${show(latencyMs)} ms is not within 0–3600000 ms`));
  }

  // Client
  const clientIp = clientIpOf(d.xff, d.peer, o.trustedProxies);
  if (clientIp === null) {
    const bad = lastBadHop();
    return fail(reject('invalid_ip', bad === '' ? 'the record has no client address' : `not an IP address: ${show(bad)}`));
  }

  // Query, credential, identity
  const q = d.query === '' ? NO_QUERY : scanQuery(d.query);
  const credential = d.credential || q.credential;
  const tokenId = d.identity !== '' ? cap(d.identity, 256) : credential !== '' ? keyedHash(o.hashKey, credential) : '';

  const path = cap(d.path, MAX_PATH);
  let route = d.route ?? '';
  if (route === '') {
    const fromGateway = o.routeSource === 'template' ? '' : gatewayRoute(d.routeName);
    route = fromGateway !== '' ? fromGateway : templatePath(path);
  }
  const requestId = cap(d.requestId, 256);

  const event: AccessEvent = {
    v: 1,
    id: '',
    tenant: o.tenant,
    ts: d.ts,
    format,
    clientIp,
    method: d.method,
    path,
    query: cap(q.query, MAX_PATH),
    route,
    status,
    latencyMs,
    bytesIn: d.bytesIn,
    bytesOut: d.bytesOut,
    userAgent: cap(d.userAgent, 2048),
    apiVersion: resolveApiVersion(path, d.apiVersion, q.apiVersion),
    tls: normaliseTls(d.tls),
    tokenId,
    country: normaliseCountry(d.country),
    asn: normaliseAsn(d.asn),
    requestId,
    host: cap(d.host, 512),
  };
  event.id = d.id !== undefined && d.id !== '' ? d.id : requestId !== '' ? requestEventId(o.tenant, format, requestId, event) : contentEventId(o.tenant, format, raw);

  if (o.zodCheck) {
    const r = validate(AccessEvent, event);
    if (!r.ok) return fail(reject('schema', r.reason));
  } else {
    const problem = checkAccessEvent(event);
    if (problem !== null) return fail(reject('schema', problem));
  }
  return { ok: true, event };
}
