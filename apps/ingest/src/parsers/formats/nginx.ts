import { emptyDraft, type Draft } from '../../normalise/draft.js';
import { normaliseIp } from '../../normalise/client-ip.js';
import { splitTarget } from '../../normalise/query.js';
import { reject, show, type Rejection } from '../../normalise/reject.js';
import { parseClfTime, parseIsoTime } from '../../normalise/time.js';
import type { TextFormat } from '../types.js';

/**
 * nginx `combined` text lines:
 *
 *   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
 *
 * optionally followed, in this order, by
 *   "$http_x_forwarded_for"   (as in nginx's stock `main` format; recognised as a quoted list of addresses or "-")
 *   $request_time             (seconds with ms resolution)
 *   "$token"                  (a consumer / key id, e.g. "$http_x_consumer_username"; NOT a raw secret. A value
 *                              starting with "Bearer " or "Basic " is treated as a raw credential and hashed)
 *
 * nginx escapes `"`, `\` and bytes outside printable ASCII as `\xHH` (or JSON escapes with `escape=json`);
 * fields are unescaped, so hostile strings and UTF-8 come out verbatim and control characters become visible
 * to validation. `$time_iso8601` is accepted in place of `$time_local`. The combined format has no host,
 * TLS version, request size or request id.
 */

const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const LINE = new RegExp(`^(\\S+) \\S+ (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d+|-) (\\d+|-) ${QUOTED} ${QUOTED}(.*)$`);

const HEX = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

/** Undo nginx escaping: `\xHH` byte sequences (decoded as UTF-8) and backslash escapes (`\"`, `\\`, `\n`, `\uXXXX`). */
export function unescapeNginx(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  const bytes: number[] = [];
  const flush = (out: string[]) => {
    if (bytes.length) {
      out.push(Buffer.from(bytes).toString('utf8'));
      bytes.length = 0;
    }
  };
  const out: string[] = [];
  let i = 0;
  let plain = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) !== 92 || i + 1 >= s.length) {
      i++;
      continue;
    }
    if (i > plain) {
      flush(out);
      out.push(s.slice(plain, i));
    }
    const e = s[i + 1];
    if (e === 'x' && i + 3 < s.length && HEX(s.charCodeAt(i + 2)) >= 0 && HEX(s.charCodeAt(i + 3)) >= 0) {
      bytes.push(HEX(s.charCodeAt(i + 2)) * 16 + HEX(s.charCodeAt(i + 3)));
      i += 4;
    } else if (e === 'u' && i + 5 < s.length && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
      flush(out);
      out.push(String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16)));
      i += 6;
    } else {
      flush(out);
      out.push(e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'f' ? '\f' : (e ?? ''));
      i += 2;
    }
    plain = i;
  }
  flush(out);
  if (plain < s.length) out.push(s.slice(plain));
  return out.join('');
}

function looksLikeAddressList(v: string): boolean {
  if (v === '-' || v === '') return true;
  const comma = v.indexOf(',');
  return normaliseIp(comma === -1 ? v : v.slice(0, comma)) !== null;
}

/** JavaScript's `\s`: WhiteSpace and LineTerminator code units. */
function isSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** What the regular expression `.` does not match (no `s` flag). */
function isLineTerminator(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/** Set by nextField(): the field's text, and whether it was a quoted field (without its quotes, still escaped). */
let fieldText = '';
let fieldQuoted = false;

/**
 * One optional trailing field from `pos`: the sticky match of `\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))`, scanned by hand
 * (no match array per field). Returns the position after the field, or -1 where that expression does not match.
 * An unterminated quote is a bare field, as in the expression, whose quoted branch then fails.
 */
function nextField(s: string, pos: number): number {
  const n = s.length;
  let i = pos;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i < n && s.charCodeAt(i) === 34) {
    for (let j = i + 1; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c === 34) {
        fieldText = s.slice(i + 1, j);
        fieldQuoted = true;
        return j + 1;
      }
      if (c === 92) {
        if (j + 1 >= n || isLineTerminator(s.charCodeAt(j + 1))) break;
        j++;
      }
    }
  }
  let j = i;
  while (j < n && !isSpace(s.charCodeAt(j))) j++;
  if (j === i) return -1;
  fieldText = s.slice(i, j);
  fieldQuoted = false;
  return j;
}

/** Message prefix when a line does not match at all (parseRecord reports it as unknown_format when detecting). */
export const NOT_NGINX = 'not an nginx combined log line';

export const nginx: TextFormat = {
  format: 'nginx',
  kind: 'text',
  detect: (line) => line.indexOf(' [') > 0 && line.indexOf('] "') > 0 && LINE.test(line),
  toDraft(line: string): Draft | Rejection {
    const m = LINE.exec(line);
    if (m === null) return reject('malformed', `${NOT_NGINX}: ${show(line)}`);
    // Indexed reads rather than array destructuring (which goes through the iterator protocol).
    const remote = m[1] ?? '';
    const user = m[2] ?? '';
    const time = m[3] ?? '';
    const request = m[4] ?? '';
    const status = m[5] ?? '';
    const sent = m[6] ?? '';
    const ua = m[8] ?? '';
    const tail = m[9] ?? '';
    const rest = tail.trimEnd();
    const d = emptyDraft();
    d.peer = remote;
    d.ts = time.charCodeAt(4) === 45 ? parseIsoTime(time) : parseClfTime(time);
    if (Number.isNaN(d.ts)) d.tsRaw = time;
    const req = unescapeNginx(request);
    const sp1 = req.indexOf(' ');
    const sp2 = req.lastIndexOf(' ');
    if (sp1 <= 0) return reject('malformed', `nginx request line is not "METHOD target [protocol]": ${show(req)}`);
    d.method = req.slice(0, sp1);
    const target = sp2 > sp1 && req.startsWith('HTTP/', sp2 + 1) ? req.slice(sp1 + 1, sp2) : req.slice(sp1 + 1);
    [d.path, d.query] = splitTarget(target);
    d.status = status === '-' ? NaN : Number(status);
    d.bytesOut = sent === '-' ? 0 : Number(sent);
    d.userAgent = ua === '-' ? '' : unescapeNginx(ua);
    if (user !== '-') d.identity = unescapeNginx(user);

    // Optional trailing fields.
    let sawTime = false;
    for (let pos = 0; pos < rest.length; ) {
      pos = nextField(rest, pos);
      if (pos === -1) return reject('malformed', `unexpected trailing fields in nginx line: ${show(rest)}`);
      if (fieldQuoted) {
        const value = unescapeNginx(fieldText);
        if (!sawTime && d.xff === '' && looksLikeAddressList(value)) {
          d.xff = value === '-' ? '' : value;
        } else if (value !== '-' && value !== '') {
          if (/^(bearer|basic) /i.test(value)) d.credential = value.slice(value.indexOf(' ') + 1);
          else d.identity = value;
        }
      } else {
        if (fieldText === '-') continue;
        const seconds = Number(fieldText);
        d.latencyMs = Number.isFinite(seconds) ? Math.round(seconds * 1e6) / 1e3 : NaN;
        sawTime = true;
      }
    }
    return d;
  },
};
