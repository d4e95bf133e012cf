import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { credentialFromAuthorization, credentialFromKeyHeader } from '../../normalise/token.js';
import { setTarget } from '../../normalise/query.js';
import type { Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, rawText, str, time } from './fields.js';

/**
 * Envoy / Istio JSON access log (Istio's default JSON keys). `duration` is total ms (integer),
 * `downstream_remote_address` the peer (ip:port), `path` includes the query, `response_code` 0 means no
 * response was sent (rejected as invalid_status).
 *
 * Istio's default format carries no TLS version or caller identity; these common additions are read when present:
 * `downstream_tls_version` (%DOWNSTREAM_TLS_VERSION%), `x_consumer_username` / `consumer_id` / `consumer`,
 * `api_key_id`, `authorization` / `x_api_key` (raw: hashed), `api_version`, `country`, `asn`.
 */
export const envoy: JsonFormat = {
  format: 'envoy',
  kind: 'json',
  detect: (r) => r.response_code !== undefined || r.downstream_remote_address !== undefined || (r.start_time !== undefined && r.authority !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const d = emptyDraft();
    d.ts = time(r.start_time, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(r.start_time);
    d.peer = str(r.downstream_remote_address);
    d.xff = str(r.x_forwarded_for);
    d.method = str(r.method);
    setTarget(d, str(r.path));
    d.status = num(r.response_code);
    d.latencyMs = r.duration === undefined ? 0 : num(r.duration);
    d.bytesIn = bytes(r.bytes_received);
    d.bytesOut = bytes(r.bytes_sent);
    d.userAgent = str(r.user_agent);
    d.requestId = str(r.request_id);
    d.host = str(r.authority);
    d.routeName = str(r.route_name);
    d.tls = str(r.downstream_tls_version) || str(r.tls_version);
    d.identity = str(r.x_consumer_username) || str(r.consumer_id) || str(r.consumer) || str(r.api_key_id);
    d.credential = credentialFromKeyHeader(str(r.x_api_key)) || credentialFromAuthorization(str(r.authorization));
    d.apiVersion = str(r.api_version);
    d.country = str(r.country);
    d.asn = str(r.asn);
    return d;
  },
};
