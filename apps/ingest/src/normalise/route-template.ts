/**
 * Route templates: collapse the variable parts of a path so one endpoint is one baseline.
 *
 * Per segment, in order:
 *   - API versions (`v1`, `v2beta1`) and date versions (`2024-01-01`) are kept verbatim;
 *   - all digits                                   → `:id`     (`/v1/orders/8812` → `/v1/orders/:id`)
 *   - a UUID (8-4-4-4-12 hex)                      → `:uuid`
 *   - hex only, 16+ characters (hashes, object ids) → `:hash`
 *   - base64/base64url-ish, 20+ chars with a digit → `:hash`  (tokens, JWT parts, opaque ids)
 *   - letters+digits(+`_-`), 8+ chars with a digit → `:id`    (`ord_8812abc`, `cus_NffrFeUfNV2Hib`)
 *   - anything else (short words, slugs without digits, hostile strings) is kept verbatim.
 * Single pass over the characters of each segment; no regular expressions on the hot path.
 */

const MAX_ROUTE = 1024;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** `v1`, `v2beta`, `v1alpha2`: a `v`, digits, then optionally letters and digits. */
export function isVersionSegment(s: string, start: number, end: number): boolean {
  const len = end - start;
  if (len < 2 || len > 16) return false;
  const v = s.charCodeAt(start);
  if (v !== 118 && v !== 86) return false;
  let i = start + 1;
  if (!isDigit(s.charCodeAt(i))) return false;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  while (i < end && isAlpha(s.charCodeAt(i))) i++;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  return i === end;
}

/** `2024-01-01` */
export function isDateSegment(s: string, start: number, end: number): boolean {
  if (end - start !== 10) return false;
  for (let i = 0; i < 10; i++) {
    const c = s.charCodeAt(start + i);
    if (i === 4 || i === 7) {
      if (c !== 45) return false;
    } else if (!isDigit(c)) return false;
  }
  return true;
}

function isUuid(s: string, start: number, end: number): boolean {
  if (end - start !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(start + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

/** The placeholder for one segment, or null to keep it. */
export function classifySegment(s: string, start: number, end: number): string | null {
  const len = end - start;
  if (len === 0) return null;
  let allDigits = true;
  let allHex = true;
  let base64ish = true;
  let idish = true;
  let hasDigit = false;
  let hasAlpha = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const d = isDigit(c);
    const a = isAlpha(c);
    if (d) hasDigit = true;
    else allDigits = false;
    if (a) hasAlpha = true;
    if (!isHex(c)) allHex = false;
    if (!d && !a) {
      if (c === 45 /* - */ || c === 95 /* _ */) {
        // base64url and id separators
      } else if (c === 43 /* + */ || c === 47 /* / */ || c === 61 /* = */ || c === 46 /* . */) {
        idish = false;
      } else {
        base64ish = false;
        idish = false;
      }
    }
  }
  if (allDigits) return ':id';
  if (isUuid(s, start, end)) return ':uuid';
  if (isVersionSegment(s, start, end) || isDateSegment(s, start, end)) return null;
  if (allHex && len >= 16) return ':hash';
  if (base64ish && len >= 20 && hasDigit) return ':hash';
  if (idish && len >= 8 && hasDigit && hasAlpha) return ':id';
  return null;
}

/** Template a path (no query string). The output is only built from the first collapsed segment on. */
export function templatePath(path: string): string {
  /** The template up to `start` once a segment was collapsed; null while the path is unchanged. */
  let out: string | null = null;
  let start = 0;
  const n = path.length;
  for (let i = 0; i <= n; i++) {
    if (i === n || path.charCodeAt(i) === 47) {
      const placeholder = classifySegment(path, start, i);
      if (placeholder !== null) out = (out === null ? path.slice(0, start) : out) + placeholder;
      else if (out !== null) out += path.slice(start, i);
      if (i < n && out !== null) out += '/';
      start = i + 1;
    }
  }
  const result = out ?? path;
  return result.length > MAX_ROUTE ? result.slice(0, MAX_ROUTE) : result;
}

/**
 * A route name or template reported by a gateway, in Vigil's form: `{id}` / `{proxy+}` placeholders
 * (AWS API Gateway) become `:id` / `:proxy`; an AWS HTTP API route key `GET /v1/x` drops the method;
 * `$default` and empty names mean "no route name".
 */
export function gatewayRoute(name: string): string {
  let s = name.trim();
  if (s === '' || s === '-' || s === '$default') return '';
  const space = s.indexOf(' ');
  if (space > 0 && s.charCodeAt(space + 1) === 47) s = s.slice(space + 1);
  if (s.indexOf('{') !== -1) {
    s = s.replace(/\{([^}/]*?)\+?\}/g, (_m, p: string) => ':' + p.replace(/\+$/, ''));
  }
  return s.length > MAX_ROUTE ? s.slice(0, MAX_ROUTE) : s;
}
