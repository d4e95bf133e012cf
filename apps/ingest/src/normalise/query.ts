/** Request targets and query strings: splitting, secret redaction, and the credential/version they carry. */

export const REDACTED = 'REDACTED';

/** Query parameters whose values are secrets: replaced by REDACTED in the stored query string. */
const SECRET_PARAMS = new Set([
  'api_key', 'apikey', 'api-key', 'x-api-key', 'key', 'token', 'access_token', 'refresh_token', 'id_token',
  'auth_token', 'client_secret', 'password', 'secret',
]);
/** Of those, the ones that are an API credential identifying the caller (hashed into the token id). */
const CREDENTIAL_PARAMS = new Set(['api_key', 'apikey', 'api-key', 'x-api-key', 'key', 'token', 'access_token', 'auth_token']);

/** Split `/path?query` into the path and the query (without '?'). A `#fragment` is dropped. */
export function splitTarget(target: string): [path: string, query: string] {
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  if (q === -1) return [hash === -1 ? target : target.slice(0, hash), ''];
  if (hash !== -1 && hash < q) return [target.slice(0, hash), ''];
  return [target.slice(0, q), hash === -1 ? target.slice(q + 1) : target.slice(q + 1, hash)];
}

/**
 * splitTarget into a draft's path and query, without the pair (an array and its iterator per record when
 * destructured). Same values as `[d.path, d.query] = splitTarget(target)`.
 */
export function setTarget(d: { path: string; query: string }, target: string): void {
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  if (q === -1) {
    d.path = hash === -1 ? target : target.slice(0, hash);
    d.query = '';
  } else if (hash !== -1 && hash < q) {
    d.path = target.slice(0, hash);
    d.query = '';
  } else {
    d.path = target.slice(0, q);
    d.query = hash === -1 ? target.slice(q + 1) : target.slice(q + 1, hash);
  }
}

/** An absolute URL (`https://host/path?q`) to its request target (`/path?q`); other input is returned as is. */
export function targetFromUrl(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme === -1 || scheme > 8) return url;
  const slash = url.indexOf('/', scheme + 3);
  if (slash === -1) {
    const q = url.indexOf('?', scheme + 3);
    return q === -1 ? '/' : '/' + url.slice(q);
  }
  return url.slice(slash);
}

function decode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export interface QueryScan {
  /** The query with secret values replaced by REDACTED. */
  query: string;
  /** The first credential found (decoded), or ''. Never stored: only its keyed hash is. */
  credential: string;
  /** The `api-version` parameter value, or ''. */
  apiVersion: string;
}

/**
 * One pass over `a=1&b=2`: redact secrets, pick out a credential and an api-version. The output string is only
 * built from the first redacted parameter on (most queries carry no secret and are returned as they came).
 */
export function scanQuery(query: string): QueryScan {
  if (query === '' || query.indexOf('=') === -1) return { query, credential: '', apiVersion: '' };
  /** The redacted query up to `start` once a secret was seen; null while nothing has changed. */
  let out: string | null = null;
  let credential = '';
  let apiVersion = '';
  let start = 0;
  const n = query.length;
  while (start <= n) {
    let end = query.indexOf('&', start);
    if (end === -1) end = n;
    const eq = query.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const name = decode(query.slice(start, eq)).toLowerCase();
      if (SECRET_PARAMS.has(name)) {
        const value = query.slice(eq + 1, end);
        if (credential === '' && value !== '' && CREDENTIAL_PARAMS.has(name)) credential = decode(value);
        if (value !== REDACTED) {
          // Everything before this parameter (with its '&') is unchanged so far.
          out = (out === null ? query.slice(0, start) : out + '&') + query.slice(start, eq + 1) + REDACTED;
          start = end + 1;
          continue;
        }
      } else if (name === 'api-version') {
        apiVersion = decode(query.slice(eq + 1, end));
      }
    }
    if (out !== null) out += '&' + query.slice(start, end);
    start = end + 1;
  }
  return { query: out ?? query, credential, apiVersion };
}
