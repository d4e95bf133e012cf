import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { applyLowerCaseHeaders } from '../../normalise/headers.js';
import { setTarget, targetFromUrl } from '../../normalise/query.js';
import { reject, type Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, obj, rawText, str, time } from './fields.js';

/**
 * Apache APISIX `kafka-logger` / `http-logger` / `file-logger` full log (default `log_format` unset).
 * `start_time` is epoch ms, `latency` total ms (float), `client_ip` APISIX's view of the peer.
 * The full log has no TLS version field; the route is `route_name` (APISIX 3.x) or `route_id`.
 */
export const apisix: JsonFormat = {
  format: 'apisix',
  kind: 'json',
  detect: (r) =>
    obj(r.request) !== null && obj(r.response) !== null && r.latencies === undefined &&
    (r.start_time !== undefined || r.route_id !== undefined || r.upstream_latency !== undefined || r.apisix_latency !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const req = obj(r.request);
    if (req === null) return reject('malformed', 'apisix record without a request object');
    const res = obj(r.response);
    const d = emptyDraft();
    d.ts = time(r.start_time, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(r.start_time);
    d.peer = str(r.client_ip);
    d.method = str(req.method);
    setTarget(d, str(req.uri) || targetFromUrl(str(req.url)));
    d.status = num(res?.status);
    d.latencyMs = r.latency === undefined ? 0 : num(r.latency);
    d.bytesIn = bytes(req.size);
    d.bytesOut = bytes(res?.size);
    d.identity = str(obj(r.consumer)?.username);
    d.routeName = str(r.route_name) || str(r.route_id);
    d.requestId = str(r.request_id);
    applyLowerCaseHeaders(d, req.headers);
    return d;
  },
};
