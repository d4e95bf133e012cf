import type { AccessEvent } from '@vigil/contracts';
import type { TrafficFormat } from './types.js';

/**
 * Rendering an AccessEvent as each gateway logs it, following the shapes the ingest parsers read
 * (apps/ingest/src/parsers/formats and their fixtures in apps/ingest/test-fixtures/same-request.ts).
 */

/** Extra per-request facts a gateway logs that the AccessEvent does not keep. */
export interface RenderExtras {
  /** Client source port (Envoy's downstream_remote_address). */
  port: number;
  /** Upstream pod that served the request. */
  upstream: string;
  /** Kong consumer uuid of the token. */
  consumerUuid: string;
}

const DIGIT_ONLY = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const VERSION = /^v\d+[a-zA-Z]*\d*$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The route ingest derives for the paths this generator produces: digit ids become `:id`, UUIDs `:uuid`,
 * everything else is kept (the generator avoids hash-like segments, so this matches ingest's templating).
 */
export function routeOf(path: string): string {
  return path
    .split('/')
    .map((s) => (s !== '' && DIGIT_ONLY.test(s) ? ':id' : UUID.test(s) ? ':uuid' : s))
    .join('/');
}

/** The API version named in the first three path segments ('' when none), as ingest reads it. */
export function versionOf(path: string): string {
  const segs = path.split('/').filter((_, i) => i > 0).slice(0, 3);
  for (const s of segs) {
    if (s.length >= 2 && s.length <= 16 && VERSION.test(s)) return s.toLowerCase();
    if (DATE.test(s)) return s;
  }
  return '';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? '0' : '') + n;

/** nginx `$time_local` in UTC with milliseconds (`14/May/2024:10:00:00.123 +0000`). */
export function clfTime(ts: number): string {
  const d = new Date(ts);
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')} +0000`;
}

/** nginx escaping of logged strings: `"`, `\` and bytes outside printable ASCII become `\xHH`. */
export function escapeNginx(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 92) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 32 || b > 126 || b === 34 || b === 92 ? '\\x' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b);
  }
  return out;
}

/** TLS version as the gateway (OpenSSL) spells it. */
function opensslTls(tls: string): string | null {
  if (tls === '') return null;
  return tls === 'TLSv1.0' ? 'TLSv1' : tls;
}

function target(e: AccessEvent): string {
  return e.query === '' ? e.path : `${e.path}?${e.query}`;
}

function nginxLine(e: AccessEvent): string {
  const seconds = (e.latencyMs / 1000).toFixed(3);
  const token = e.tokenId === '' ? '-' : escapeNginx(e.tokenId);
  const ua = e.userAgent === '' ? '-' : escapeNginx(e.userAgent);
  return `${e.clientIp} - - [${clfTime(e.ts)}] "${escapeNginx(`${e.method} ${target(e)} HTTP/1.1`)}" ${e.status} ${e.bytesOut} "-" "${ua}" "-" ${seconds} "${token}"`;
}

function kongRecord(e: AccessEvent, x: RenderExtras): string {
  const scheme = e.tls === '' ? 'http' : 'https';
  const uri = target(e);
  const headers: Record<string, string> = {
    host: e.host,
    'user-agent': e.userAgent,
    accept: 'application/json',
    'x-forwarded-proto': scheme,
  };
  if (e.tokenId !== '') headers['authorization'] = 'REDACTED';
  if (e.bytesIn > 0 && e.method !== 'GET') headers['content-type'] = 'application/json';
  if (e.country !== '') headers['cf-ipcountry'] = e.country;
  if (e.asn !== 0) headers['x-asn'] = String(e.asn);
  const kongMs = Math.min(e.latencyMs, 1 + (e.ts % 3));
  const request: Record<string, unknown> = {
    id: e.requestId,
    method: e.method,
    uri,
    url: `${scheme}://${e.host}:${scheme === 'http' ? 80 : 443}${uri}`,
    size: e.bytesIn,
    headers,
  };
  const tls = opensslTls(e.tls);
  if (tls !== null) request['tls'] = { version: tls, cipher: tls === 'TLSv1.3' ? 'TLS_AES_256_GCM_SHA384' : 'ECDHE-RSA-AES128-GCM-SHA256', client_verify: 'NONE' };
  const record: Record<string, unknown> = {
    request,
    upstream_uri: uri,
    upstream_status: String(e.status),
    response: { status: e.status, size: e.bytesOut, headers: { 'content-type': 'application/json', 'x-kong-proxy-latency': String(kongMs), 'x-kong-upstream-latency': String(e.latencyMs - kongMs) } },
    tries: [{ balancer_start: e.ts + 1, balancer_latency: 0, ip: x.upstream, port: 8080 }],
    latencies: { kong: kongMs, proxy: e.latencyMs - kongMs, request: e.latencyMs, receive: 0 },
    route: { id: 'c1b7a2f0-0d3e-4b5a-9c8d-7e6f5a4b3c2d', paths: ['/'], protocols: ['http', 'https'], strip_path: false },
    service: { id: 'a3f1e2d4-5c6b-4a7e-8f9d-0b1c2d3e4f5a', name: 'trading-api', host: 'trading-api.internal', port: 8080, protocol: 'http' },
    workspace: '0dc6f45b-8f8d-40d2-a504-473544ee190b',
    client_ip: e.clientIp,
    started_at: e.ts,
    source: e.status >= 500 && e.status !== 503 ? 'upstream' : e.status === 401 || e.status === 429 ? 'kong' : 'upstream',
  };
  if (e.tokenId !== '') {
    record['consumer'] = { id: x.consumerUuid, username: e.tokenId, custom_id: null, created_at: 1_700_000_000 };
    record['authenticated_entity'] = { id: x.consumerUuid };
  }
  return JSON.stringify(record);
}

function envoyRecord(e: AccessEvent, x: RenderExtras): string {
  return JSON.stringify({
    start_time: new Date(e.ts).toISOString(),
    method: e.method,
    path: target(e),
    protocol: 'HTTP/1.1',
    response_code: e.status,
    response_flags: e.status === 503 ? 'UO' : e.status === 504 ? 'UT' : '-',
    response_code_details: 'via_upstream',
    bytes_received: e.bytesIn,
    bytes_sent: e.bytesOut,
    duration: e.latencyMs,
    upstream_service_time: String(Math.max(0, e.latencyMs - 1)),
    x_forwarded_for: null,
    user_agent: e.userAgent === '' ? null : e.userAgent,
    request_id: e.requestId,
    authority: e.host,
    upstream_host: `${x.upstream}:8080`,
    upstream_cluster: 'outbound|8080||trading-api.prod.svc.cluster.local',
    downstream_local_address: '10.20.0.9:8443',
    downstream_remote_address: `${e.clientIp}:${x.port}`,
    route_name: null,
    downstream_tls_version: opensslTls(e.tls),
    x_consumer_username: e.tokenId === '' ? null : e.tokenId,
    country: e.country === '' ? null : e.country,
    asn: e.asn === 0 ? null : `AS${e.asn}`,
  });
}

function vigilRecord(e: AccessEvent): string {
  return JSON.stringify({
    v: 1,
    ts: e.ts,
    clientIp: e.clientIp,
    method: e.method,
    path: e.path,
    query: e.query,
    status: e.status,
    latencyMs: e.latencyMs,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    userAgent: e.userAgent,
    tls: e.tls,
    tokenId: e.tokenId,
    country: e.country,
    asn: e.asn,
    requestId: e.requestId,
    host: e.host,
  });
}

/** The raw record for one event in a format (one line). */
export function renderRecord(format: TrafficFormat, e: AccessEvent, x: RenderExtras): string {
  switch (format) {
    case 'nginx':
      return nginxLine(e);
    case 'kong':
      return kongRecord(e, x);
    case 'envoy':
      return envoyRecord(e, x);
    case 'vigil':
      return vigilRecord(e);
  }
}

/** How each format spells its request id (nginx combined has none). */
export function requestIdFor(format: TrafficFormat, hex32: string): string {
  if (format === 'nginx') return '';
  if (format === 'kong') return hex32;
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-4${hex32.slice(13, 16)}-a${hex32.slice(17, 20)}-${hex32.slice(20, 32)}`;
}
