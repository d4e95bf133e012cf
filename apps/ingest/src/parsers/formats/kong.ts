import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { applyLowerCaseHeaders } from '../../normalise/headers.js';
import { setTarget, targetFromUrl } from '../../normalise/query.js';
import { reject, type Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, obj, rawText, str, time } from './fields.js';

/**
 * Kong `http-log` / `file-log` / `tcp-log` / `kafka-log` records: the `kong.log.serialize()` shape.
 * `client_ip` is Kong's view of the peer; `latencies.request` is the total in ms (integer);
 * `request.size` counts the request line and headers; `request.tls.version` is the TLS version
 * (absent for plain HTTP). Kong logs Authorization as 'REDACTED', which is ignored as a credential.
 */
export const kong: JsonFormat = {
  format: 'kong',
  kind: 'json',
  detect: (r) => obj(r.latencies) !== null && obj(r.request) !== null && (r.started_at !== undefined || r.client_ip !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const req = obj(r.request);
    if (req === null) return reject('malformed', 'kong record without a request object');
    const res = obj(r.response);
    const lat = obj(r.latencies);
    const d = emptyDraft();
    d.ts = time(r.started_at, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(r.started_at);
    d.peer = str(r.client_ip);
    d.method = str(req.method);
    setTarget(d, str(req.uri) || targetFromUrl(str(req.url)));
    d.requestId = str(req.id);
    d.status = num(res?.status);
    d.latencyMs = lat === null || lat.request === undefined ? 0 : num(lat.request);
    d.bytesIn = bytes(req.size);
    d.bytesOut = bytes(res?.size);
    d.tls = str(obj(req.tls)?.version);
    const consumer = obj(r.consumer);
    d.identity = consumer ? str(consumer.username) || str(consumer.custom_id) || str(consumer.id) : '';
    if (d.identity === '') d.identity = str(obj(r.authenticated_entity)?.id);
    d.routeName = str(obj(r.route)?.name);
    applyLowerCaseHeaders(d, req.headers);
    if (d.host === '') {
      const url = str(req.url);
      const s = url.indexOf('://');
      if (s !== -1) d.host = url.slice(s + 3).split(/[/?:]/, 1)[0] ?? '';
    }
    return d;
  },
};
