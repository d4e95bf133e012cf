import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { applyHeaders } from '../../normalise/headers.js';
import { splitTarget } from '../../normalise/query.js';
import type { Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, obj, rawText, str, time } from './fields.js';

/** The request line and headers of Tyk's base64 `RawRequest` (detailed recording). */
export function parseRawRequest(b64: string): { target: string; headers: Map<string, string> } | null {
  if (b64 === '') return null;
  const text = Buffer.from(b64, 'base64').toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  const lines = head.split('\r\n');
  const requestLine = lines[0] ?? '';
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.lastIndexOf(' ');
  if (sp1 <= 0) return null;
  const target = sp2 > sp1 ? requestLine.slice(sp1 + 1, sp2) : requestLine.slice(sp1 + 1);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : prev + ', ' + value);
  }
  return { target, headers };
}

/**
 * Tyk analytics records (as written by tyk-pump: Kafka, HTTP, CSV-as-JSON). `RequestTime` / `Latency.total` are
 * ms, `ContentLength` is the request body size (no response size is recorded), `Alias` is the key alias and
 * `OauthID` the OAuth client. `APIKey` may be the raw key when `hash_keys` is off, so it is only ever kept as
 * a keyed hash. `Geo.Country.ISOCode` and `Network` ASN are used when Tyk's GeoIP is on.
 *
 * `IPAddress` is Tyk's RealIP(), which takes the LEFT-most X-Forwarded-For entry (client-controlled), so when
 * `RawRequest` carries an X-Forwarded-For it is walked instead and `IPAddress` is not used as the peer.
 */
export const tyk: JsonFormat = {
  format: 'tyk',
  kind: 'json',
  detect: (r) => r.ResponseCode !== undefined && (r.APIID !== undefined || r.OrgID !== undefined || r.RequestTime !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const d = emptyDraft();
    d.ts = time(r.TimeStamp, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(r.TimeStamp);
    d.method = str(r.Method);
    d.path = str(r.RawPath) || str(r.Path);
    d.status = num(r.ResponseCode);
    const latency = obj(r.Latency);
    d.latencyMs = latency?.total !== undefined ? num(latency.total) : r.RequestTime === undefined ? 0 : num(r.RequestTime);
    d.bytesIn = bytes(r.ContentLength);
    d.userAgent = str(r.UserAgent);
    d.host = str(r.Host);
    const version = str(r.APIVersion);
    d.apiVersion = version === 'Non Versioned' || version === 'Default' ? '' : version;
    d.identity = str(r.Alias) || str(r.OauthID);
    d.credential = str(r.APIKey);
    const geo = obj(r.Geo);
    d.country = str(obj(geo?.Country)?.ISOCode);
    d.asn = str(obj(r.Network)?.ASN) || 0;
    d.peer = str(r.IPAddress);
    const raw = parseRawRequest(str(r.RawRequest));
    if (raw !== null) {
      const [path, query] = splitTarget(raw.target);
      if (d.path === '') d.path = path;
      d.query = query;
      if ((raw.headers.get('x-forwarded-for') ?? '') !== '') d.peer = '';
      applyHeaders(d, (name) => raw.headers.get(name) ?? '');
    } else if (d.path.indexOf('?') !== -1) {
      [d.path, d.query] = splitTarget(d.path);
    }
    return d;
  },
};
