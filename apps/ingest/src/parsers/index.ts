/** Public API of the ingest parsers: one raw gateway record in, one AccessEvent or a typed rejection out. */
export { parseRecord, detectFormat, formatFromHeader, JSON_FORMATS, DEFAULT_MAX_RECORD_BYTES } from './parse-record.js';
export type { ParseContext, ParseResult, JsonFormat, TextFormat, JsonRecord } from './types.js';
export { REJECT_REASONS, type RejectReason, type Rejection } from '../normalise/reject.js';
export { TrustedProxies, compileTrustedProxies, normaliseIp, resolveClientIp } from '../normalise/client-ip.js';
export { templatePath, gatewayRoute } from '../normalise/route-template.js';
export { keyedHash } from '../normalise/token.js';
export { checkAccessEvent } from '../normalise/check-event.js';
export { kong } from './formats/kong.js';
export { apisix } from './formats/apisix.js';
export { envoy } from './formats/envoy.js';
export { nginx } from './formats/nginx.js';
export { traefik } from './formats/traefik.js';
export { aws } from './formats/aws.js';
export { tyk } from './formats/tyk.js';
export { vigil } from './formats/vigil.js';
