/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date. Returns the delay in ms from `nowMs`
 * (never negative), or undefined when the header is absent or unparseable. Capped at `maxMs` so a receiver cannot
 * park a delivery for a year.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number, maxMs = 3_600_000): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Math.min(maxMs, Number(v) * 1000);
  // An HTTP-date always names a weekday and a GMT zone; Date.parse alone would accept "1.5" or "tomorrow 3".
  if (!/^[A-Za-z]{3},? .*GMT$|^[A-Za-z]{6,9}, .*GMT$|^[A-Za-z]{3} [A-Za-z]{3} /.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(maxMs, Math.max(0, at - nowMs));
}
