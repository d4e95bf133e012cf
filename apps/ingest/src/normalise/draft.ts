/**
 * What a format module extracts from one record, before normalisation. Format modules only pick fields out
 * of their shape; every rule (client IP, route, version, TLS, token identity, redaction, validation) lives in
 * normalise.ts so all formats behave the same.
 *
 * Use NaN for a missing number and '' for a missing string.
 */
export interface Draft {
  /** Event time, epoch ms; NaN when present but unparsable; undefined when the record has none. */
  ts: number | undefined;
  /** The raw timestamp text, for the rejection message. */
  tsRaw?: string;
  /** The gateway's request id ('' when none). */
  requestId: string;
  /** Address the gateway saw the connection from, or its own resolved client address (may carry a port). */
  peer: string;
  /** X-Forwarded-For as received ('' when absent). */
  xff: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** The gateway's route name or route template ('' when none). */
  routeName: string;
  status: number;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  userAgent: string;
  host: string;
  /** TLS version as the gateway spells it ('' for plain HTTP or unknown). */
  tls: string;
  /** Version from a header (`api-version`, `x-api-version`, `accept-version`) or the gateway ('' when none). */
  apiVersion: string;
  /** Identity the gateway authenticated: consumer name/id, API key id ('' when none). Not a secret. */
  identity: string;
  /** A raw credential (API key, bearer token) seen in headers ('' when none). Only its keyed hash is kept. */
  credential: string;
  country: string;
  asn: number | string;
  /** Vigil canonical records may carry their own id and route; other formats leave these undefined. */
  id?: string;
  route?: string;
}

export function emptyDraft(): Draft {
  return {
    ts: undefined,
    requestId: '',
    peer: '',
    xff: '',
    method: '',
    path: '',
    query: '',
    routeName: '',
    status: NaN,
    latencyMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    userAgent: '',
    host: '',
    tls: '',
    apiVersion: '',
    identity: '',
    credential: '',
    country: '',
    asn: 0,
  };
}
