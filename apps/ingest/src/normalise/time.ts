/**
 * Timestamp parsing without Date.parse (which is lenient and slow): ISO 8601 / RFC 3339, nginx/Apache
 * `$time_local` (`14/May/2024:10:00:00 +0000`), and epoch numbers in s / ms / µs / ns.
 * Every function returns epoch milliseconds (integer) or NaN.
 */

function num(s: string, start: number, len: number): number {
  let v = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); integer math only. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= DAYS_IN_MONTH[mo - 1]! && h <= 23 && mi <= 59 && s <= 60)) return NaN;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return NaN;
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

/** Zone suffix `Z`, `+02:00`, `+0200`, `-05` (or none: UTC) at `i`; returns offset in ms or NaN. */
function zone(s: string, i: number): number {
  if (i === s.length) return 0;
  const c = s.charCodeAt(i);
  if ((c === 90 || c === 122) && i + 1 === s.length) return 0; // Z
  if (c !== 43 && c !== 45) return NaN;
  const sign = c === 43 ? 1 : -1;
  const rest = s.length - i - 1;
  let h: number;
  let m = 0;
  if (rest === 2) h = num(s, i + 1, 2);
  else if (rest === 4) {
    h = num(s, i + 1, 2);
    m = num(s, i + 3, 2);
  } else if (rest === 5 && s.charCodeAt(i + 3) === 58) {
    h = num(s, i + 1, 2);
    m = num(s, i + 4, 2);
  } else return NaN;
  if (!(h <= 23 && m <= 59)) return NaN;
  return sign * (h * 60 + m) * 60_000;
}

/** `2024-05-14T10:00:00Z`, `…T10:00:00.0125+02:00`, `2024-05-14 10:00:00.123` (no zone: UTC). */
export function parseIsoTime(s: string): number {
  if (s.length < 19 || s.length > 40) return NaN;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 32 && t !== 116) return NaN;
  const base = utc(num(s, 0, 4), num(s, 5, 2), num(s, 8, 2), num(s, 11, 2), num(s, 14, 2), num(s, 17, 2));
  if (Number.isNaN(base)) return NaN;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44) {
    i++;
    let scale = 100;
    const from = i;
    while (i < s.length) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale /= 10;
      i++;
    }
    if (i === from) return NaN;
  }
  const off = zone(s, i);
  if (Number.isNaN(off)) return NaN;
  return Math.floor(base + ms - off);
}

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

/** nginx/Apache `$time_local`: `14/May/2024:10:00:00 +0000` (also accepts `.123` milliseconds before the zone). */
export function parseClfTime(s: string): number {
  if (s.length < 26 || s.charCodeAt(2) !== 47 || s.charCodeAt(6) !== 47 || s.charCodeAt(11) !== 58) return NaN;
  const month = MONTHS[s.slice(3, 6)];
  if (month === undefined) return NaN;
  const base = utc(num(s, 7, 4), month, num(s, 0, 2), num(s, 12, 2), num(s, 15, 2), num(s, 18, 2));
  if (Number.isNaN(base)) return NaN;
  let i = 20;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    ms = num(s, i + 1, 3);
    if (Number.isNaN(ms)) return NaN;
    i += 4;
  }
  if (s.charCodeAt(i) !== 32) return NaN;
  const off = zone(s, i + 1);
  return Number.isNaN(off) ? NaN : base + ms - off;
}

/**
 * Epoch number in any common unit to ms, by magnitude: < 1e11 seconds (covers until year 5138),
 * < 1e14 ms, < 1e17 µs, else ns. Numeric strings are accepted.
 */
export function epochToMs(v: number | string): number {
  const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0) return NaN;
  if (n < 1e11) return Math.floor(n * 1000);
  if (n < 1e14) return Math.floor(n);
  if (n < 1e17) return Math.floor(n / 1000);
  return Math.floor(n / 1e6);
}

/** A timestamp field of unknown shape: number (epoch), numeric string, ISO string, or `$time_local`. */
export function parseAnyTime(v: unknown): number {
  if (typeof v === 'number') return epochToMs(v);
  if (typeof v !== 'string' || v === '') return NaN;
  const c = v.charCodeAt(0);
  if (v.length >= 19 && v.charCodeAt(4) === 45) return parseIsoTime(v);
  if (v.length >= 26 && v.charCodeAt(2) === 47) return parseClfTime(v);
  if (c >= 48 && c <= 57) return epochToMs(v);
  return NaN;
}
