import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { applyPrefixedHeaders } from '../../normalise/headers.js';
import { setTarget } from '../../normalise/query.js';
import type { Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, rawText, str, time } from './fields.js';

/**
 * Traefik JSON access log. `Duration` is in nanoseconds, `RequestPath` includes the query, `ClientHost` is the
 * peer, `TLSVersion` is '1.3' style, `ClientUsername` the basic/digest-auth user. Request headers appear as
 * `request_<Canonical-Name>` keys when the access log keeps them (`fields.headers.defaultmode=keep`).
 */
export const traefik: JsonFormat = {
  format: 'traefik',
  kind: 'json',
  detect: (r) => r.DownstreamStatus !== undefined || r.RequestMethod !== undefined || r.StartUTC !== undefined,
  toDraft(r: JsonRecord): Draft | Rejection {
    const d = emptyDraft();
    const start = r.StartUTC ?? r.StartLocal;
    d.ts = time(start, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(start);
    d.peer = str(r.ClientHost) || str(r.ClientAddr);
    d.method = str(r.RequestMethod);
    setTarget(d, str(r.RequestPath));
    d.status = num(r.DownstreamStatus);
    d.latencyMs = r.Duration === undefined ? 0 : num(r.Duration) / 1e6;
    d.bytesIn = bytes(r.RequestContentSize);
    d.bytesOut = bytes(r.DownstreamContentSize);
    d.host = str(r.RequestHost);
    d.tls = str(r.TLSVersion);
    d.routeName = str(r.RouterName);
    d.identity = str(r.ClientUsername);
    applyPrefixedHeaders(d, r, 'request_');
    return d;
  },
};
