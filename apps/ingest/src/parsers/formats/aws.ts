import { emptyDraft, type Draft } from '../../normalise/draft.js';
import type { Rejection } from '../../normalise/reject.js';
import { parseAnyTime } from '../../normalise/time.js';
import type { JsonFormat, JsonRecord } from '../types.js';
import { bytes, num, obj, rawText, str, time } from './fields.js';

/**
 * AWS API Gateway access log in JSON (REST and HTTP APIs; keys as in AWS's documented JSON example).
 * `ip` is `$context.identity.sourceIp` (AWS's own resolution: no X-Forwarded-For walk is possible),
 * values are often strings ('200', '-'). `resourcePath` / `routeKey` is the gateway's route template.
 * The access log carries no query string and no request size. `requestTimeEpoch` (ms) is preferred to
 * `requestTime` (second resolution). Identity: the Lambda authorizer principal, else the API key id.
 */
export const aws: JsonFormat = {
  format: 'aws',
  kind: 'json',
  detect: (r) => r.requestId !== undefined && (r.httpMethod !== undefined || r.routeKey !== undefined || r.resourcePath !== undefined),
  toDraft(r: JsonRecord): Draft | Rejection {
    const d = emptyDraft();
    d.host = str(r.domainName);
    const t = r.requestTimeEpoch ?? r.requestTime;
    d.ts = time(t, parseAnyTime);
    if (Number.isNaN(d.ts)) d.tsRaw = rawText(t);
    d.requestId = str(r.requestId);
    d.peer = str(r.ip) || str(r.sourceIp);
    d.xff = str(r.xForwardedFor);
    d.method = str(r.httpMethod);
    const routeKey = str(r.routeKey);
    d.routeName = str(r.resourcePath) || routeKey;
    if (d.method === '' && routeKey.indexOf(' ') > 0) d.method = routeKey.slice(0, routeKey.indexOf(' '));
    d.path = str(r.path) || str(r.resourcePath);
    // On the execute-api endpoint, $context.path starts with the stage ('/prod/v1/...'); custom domains do not.
    const stage = str(r.stage);
    if (stage !== '' && d.host.endsWith('.amazonaws.com') && d.path.startsWith('/' + stage + '/')) d.path = d.path.slice(stage.length + 1);
    d.status = num(r.status);
    const lat = r.responseLatency ?? r.latency;
    d.latencyMs = lat === undefined || lat === '-' ? 0 : num(lat);
    d.bytesOut = bytes(r.responseLength);
    d.userAgent = str(r.userAgent);
    d.tls = str(r.tlsVersion);
    const authorizer = obj(r.authorizer);
    d.identity = str(r.principalId) || str(r.authorizerPrincipalId) || str(authorizer?.principalId) || str(r.apiKeyId);
    return d;
  },
};
