import ipaddr from 'ipaddr.js';

/**
 * Client IP resolution: validation of single addresses and the X-Forwarded-For walk.
 *
 * IPv4 dotted quads (the overwhelming majority of hops) take a hand-written strict parser; everything else
 * goes through ipaddr.js. Addresses are returned in canonical text: IPv4 as four decimal parts, IPv6 in
 * RFC 5952 form, IPv4-mapped IPv6 (`::ffff:203.0.113.7`) unwrapped to IPv4.
 */

/** Strict dotted-quad IPv4 to an unsigned 32-bit number, or -1. Rejects leading zeros, hex and short forms. */
export function parseIpv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return -1; // leading zero: ambiguous (octal in some parsers)
      part = part * 10 + (c - 48);
      digits++;
      if (digits > 3) return -1;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/**
 * Strip what proxies and gateways wrap around an address: surrounding spaces, `[v6]:port`, `v4:port`, quotes.
 * Returns the bare address text (not yet validated).
 */
export function stripAddress(raw: string): string {
  let s = raw.trim();
  if (s.length > 1 && s.charCodeAt(0) === 34 && s.charCodeAt(s.length - 1) === 34) s = s.slice(1, -1).trim();
  if (s.charCodeAt(0) === 91 /* [ */) {
    const end = s.indexOf(']');
    return end > 0 ? s.slice(1, end) : s;
  }
  const colon = s.indexOf(':');
  // Exactly one colon: IPv4 with a port (IPv6 always has two or more).
  if (colon > 0 && s.indexOf(':', colon + 1) === -1) return s.slice(0, colon);
  return s;
}

/** Canonical text of a valid IP address, or null. Accepts ports and brackets (see stripAddress). */
export function normaliseIp(raw: string): string | null {
  const s = stripAddress(raw);
  if (parseIpv4(s) >= 0) return s;
  return normaliseIpv6(s);
}

function normaliseIpv6(s: string): string | null {
  if (s.indexOf(':') === -1 || s.length > 64) return null;
  if (!ipaddr.IPv6.isValid(s)) return null;
  const v6 = ipaddr.IPv6.parse(s);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return v6.toRFC5952String();
}

interface V4Range {
  base: number;
  mask: number;
}

/** A compiled list of trusted proxy addresses / CIDR ranges. Build once (compileTrustedProxies), reuse per record. */
export class TrustedProxies {
  private readonly v4: V4Range[] = [];
  private readonly v6: [ipaddr.IPv6, number][] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      if (!entry) continue;
      const slash = entry.indexOf('/');
      const addr = slash === -1 ? entry : entry.slice(0, slash);
      const bitsText = slash === -1 ? '' : entry.slice(slash + 1);
      const v4 = parseIpv4(addr);
      if (v4 >= 0) {
        const bits = bitsText === '' ? 32 : Number(bitsText);
        if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`Invalid trusted proxy CIDR: ${entry}`);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        this.v4.push({ base: (v4 & mask) >>> 0, mask });
        continue;
      }
      if (!ipaddr.IPv6.isValid(addr)) throw new Error(`Invalid trusted proxy address: ${entry}`);
      const bits = bitsText === '' ? 128 : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`Invalid trusted proxy CIDR: ${entry}`);
      const v6 = ipaddr.IPv6.parse(addr);
      if (v6.isIPv4MappedAddress() && bits >= 96) {
        const mapped = parseIpv4(v6.toIPv4Address().toString());
        const v4bits = bits - 96;
        const mask = v4bits === 0 ? 0 : (0xffffffff << (32 - v4bits)) >>> 0;
        this.v4.push({ base: (mapped & mask) >>> 0, mask });
      } else {
        this.v6.push([v6, bits]);
      }
    }
  }

  /** Whether an IPv4 address (parseIpv4's number) is a trusted proxy. */
  hasV4(v4: number): boolean {
    const ranges = this.v4;
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i]!;
      if (((v4 & r.mask) >>> 0) === r.base) return true;
    }
    return false;
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /** Whether a canonical address (output of normaliseIp) is a trusted proxy. */
  has(ip: string): boolean {
    const v4 = parseIpv4(ip);
    if (v4 >= 0) return this.hasV4(v4);
    if (this.v6.length === 0) return false;
    const addr = ipaddr.IPv6.parse(ip);
    for (const [range, bits] of this.v6) if (addr.match(range, bits)) return true;
    return false;
  }
}

const compiled = new WeakMap<readonly string[], TrustedProxies>();

/** Compile (and cache by array identity) a list of trusted proxies. Throws on an invalid entry. */
export function compileTrustedProxies(list: readonly string[] | TrustedProxies): TrustedProxies {
  if (list instanceof TrustedProxies) return list;
  let c = compiled.get(list);
  if (!c) {
    c = new TrustedProxies(list);
    compiled.set(list, c);
  }
  return c;
}

export type ClientIpResult = { ok: true; ip: string } | { ok: false; bad: string };

/**
 * The client address: walk the chain `X-Forwarded-For hops…, peer` from the right, skipping trusted proxies;
 * the first untrusted hop is the client. If every hop is trusted, the left-most hop is the client
 * (internal traffic). A hop that is not a valid address stops the walk: it was written by a proxy we trust,
 * so the record is broken, and the caller rejects it rather than guessing.
 *
 * `peer` is the address the gateway saw the connection from (or its own resolved client address); '' when
 * the format does not carry one.
 */
/** Set by hop(): whether the address it returned is a trusted proxy. */
let hopTrusted = false;

/** normaliseIp(raw), and whether the result is trusted, with an IPv4 address parsed once. */
function hop(raw: string, trusted: TrustedProxies): string | null {
  const s = stripAddress(raw);
  const v4 = parseIpv4(s);
  if (v4 >= 0) {
    hopTrusted = trusted.hasV4(v4);
    return s;
  }
  const ip = normaliseIpv6(s);
  hopTrusted = ip !== null && trusted.has(ip);
  return ip;
}

export function resolveClientIp(xff: string, peer: string, trusted: TrustedProxies): ClientIpResult {
  const ip = clientIpOf(xff, peer, trusted);
  return ip !== null ? { ok: true, ip } : { ok: false, bad: badHop };
}

/** Set by clientIpOf() when it returns null. */
let badHop = '';

/** After clientIpOf() returned null: the hop that is not an address ('' when there was no address at all). */
export function lastBadHop(): string {
  return badHop;
}

/** resolveClientIp without the result object: the client address, or null (the offending hop in lastBadHop()). */
export function clientIpOf(xff: string, peer: string, trusted: TrustedProxies): string | null {
  let last = '';
  if (peer !== '') {
    const ip = hop(peer, trusted);
    if (ip === null) {
      badHop = peer;
      return null;
    }
    if (!hopTrusted || xff === '' || xff === '-') return ip;
    last = ip;
  }
  if (xff === '' || xff === '-') {
    if (last !== '') return last;
    badHop = '';
    return null;
  }
  let end = xff.length;
  while (end > 0) {
    const comma = xff.lastIndexOf(',', end - 1);
    const entry = xff.slice(comma + 1, end);
    end = comma;
    if (entry.trim() === '') continue;
    const ip = hop(entry, trusted);
    if (ip === null) {
      badHop = entry.trim();
      return null;
    }
    if (!hopTrusted) return ip;
    last = ip;
    if (comma < 0) break;
  }
  if (last !== '') return last;
  badHop = xff;
  return null;
}
