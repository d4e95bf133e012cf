/**
 * Country as ISO 3166 alpha-2 upper case ('' when unknown). Cloudflare's 'XX' (unknown) becomes '';
 * its 'T1' (Tor) is kept because it is exactly what an abuse detector wants to see.
 */
export function normaliseCountry(raw: string): string {
  const s = raw.trim();
  if (s.length !== 2) return '';
  const up = s.toUpperCase();
  if (!isUpperAlnum(up.charCodeAt(0)) || !isUpperAlnum(up.charCodeAt(1)) || up === 'XX') return '';
  return up;
}

function isUpperAlnum(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Autonomous system number from `13335`, `AS13335`, `as13335`, or a number; 0 when unknown or invalid. */
export function normaliseAsn(raw: string | number): number {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw > 0 && raw <= 4294967295 ? raw : 0;
  let s = raw.trim();
  if (s.length > 2 && (s.charCodeAt(0) | 32) === 97 && (s.charCodeAt(1) | 32) === 115) s = s.slice(2);
  if (s === '' || s.length > 10) return 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return 0;
  }
  const n = Number(s);
  return n > 0 && n <= 4294967295 ? n : 0;
}
