import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { splitTarget } from '../../normalise/query.js';
import type { Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, rawText, str, time } from './fields.js';

/**
 * Vigil's canonical JSON: the AccessEvent shape, possibly partial. Required: `ts` (epoch ms or ISO),
 * `clientIp`, `method`, `path`, `status`. Everything else defaults (latency 0, bytes 0, strings '') and derived
 * fields (route, apiVersion, id) are computed when absent. `tenant` and `format` in the record are ignored:
 * the tenant comes from the transport, the format is 'vigil'. A `path` with a `?` is split when `query` is absent.
 * `tokenId` is taken as an identity as is (the producer is expected to have hashed secrets already).
 */
export const vigil: JsonFormat = {
  format: 'vigil',
  kind: 'json',
  detect: (r) => r.clientIp !== undefined && r.ts !== undefined && (r.v === 1 || r.method !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const d = emptyDraft();
    d.ts = time(r.ts, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(r.ts);
    d.peer = str(r.clientIp);
    d.method = str(r.method);
    const path = str(r.path);
    if (r.query === undefined && path.indexOf('?') !== -1) [d.path, d.query] = splitTarget(path);
    else {
      d.path = path;
      d.query = str(r.query);
    }
    d.status = num(r.status);
    d.latencyMs = r.latencyMs === undefined ? 0 : num(r.latencyMs);
    d.bytesIn = bytes(r.bytesIn);
    d.bytesOut = bytes(r.bytesOut);
    d.userAgent = str(r.userAgent);
    d.apiVersion = str(r.apiVersion);
    d.tls = str(r.tls);
    d.identity = str(r.tokenId);
    d.country = str(r.country);
    d.asn = typeof r.asn === 'number' ? r.asn : str(r.asn);
    d.requestId = str(r.requestId);
    d.host = str(r.host);
    if (typeof r.route === 'string' && r.route !== '') d.route = r.route;
    if (typeof r.id === 'string' && r.id !== '') d.id = r.id;
    return d;
  },
};
