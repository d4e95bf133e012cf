import { isDateSegment, isVersionSegment } from './route-template.js';

/** How many leading path segments may hold the version (`/api/v1/…`, `/svc/api/v2/…`). */
const MAX_VERSION_DEPTH = 3;

/** 'v0'…'v9', the usual versions, without a new string per event. */
const SHORT_VERSIONS: readonly string[] = Array.from({ length: 10 }, (_, i) => 'v' + i);

/**
 * The API version named in a path: `/v1/…` → 'v1', `/api/v2beta/…` → 'v2beta', `/2024-01-01/…` → '2024-01-01'.
 * Only the first few segments are considered, so an id that happens to look like `v2` deep in a path is ignored.
 */
export function versionFromPath(path: string): string {
  let start = path.charCodeAt(0) === 47 ? 1 : 0;
  for (let depth = 0; depth < MAX_VERSION_DEPTH && start < path.length; depth++) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (isVersionSegment(path, start, end)) return end - start === 2 ? SHORT_VERSIONS[path.charCodeAt(start + 1) - 48]! : path.slice(start, end).toLowerCase();
    if (isDateSegment(path, start, end)) return path.slice(start, end);
    start = end + 1;
  }
  return '';
}

/**
 * A version taken from a header or query value (`api-version`, `x-api-version`, `accept-version`):
 * trimmed, `v`-prefixed numbers lower-cased, capped at the schema's 64 characters. '' when absent.
 */
export function normaliseVersion(raw: string): string {
  const s = raw.trim();
  if (s === '' || s === '-') return '';
  if (isVersionSegment(s, 0, s.length)) return s.toLowerCase();
  return s.length > 64 ? s.slice(0, 64) : s;
}

/** Version from the path first (most explicit), then a header value, then the `api-version` query parameter. */
export function resolveApiVersion(path: string, headerVersion: string, queryVersion: string): string {
  return versionFromPath(path) || normaliseVersion(headerVersion) || normaliseVersion(queryVersion);
}
