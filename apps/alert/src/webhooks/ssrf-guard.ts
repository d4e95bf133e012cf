import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to every address it has (A and AAAA). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Why an address is not a public unicast one (ipaddr.js range names), or null when it is public. */
export function nonPublicRange(ip: string): string | null {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns IPv4-mapped IPv6 (::ffff:10.0.0.1) into the IPv4 address it carries.
    addr = ipaddr.process(ip);
  } catch {
    return 'invalid';
  }
  const range = addr.range();
  // Anything but plain unicast is refused: loopback, private, linkLocal, uniqueLocal, multicast, unspecified,
  // broadcast, carrierGradeNat, reserved, and the IPv6 forms that embed an IPv4 address (6to4, teredo, rfc6052).
  return range === 'unicast' ? null : range;
}

export class SsrfRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SsrfRefusal';
  }
}

/** A target that passed the guard: the parsed URL and every address its host resolved to (all of them allowed). */
export interface CheckedTarget {
  url: URL;
  addresses: string[];
}

export interface SsrfPolicy {
  /** Allow every address (VIGIL_WEBHOOK_ALLOW_PRIVATE=true). */
  allowPrivate: boolean;
  /** Non-public addresses inside these CIDRs are allowed (VIGIL_WEBHOOK_ALLOWED_CIDRS). */
  allowedCidrs: readonly string[];
}

/**
 * Refuses webhook targets that are, or resolve to, non-public addresses, unless the policy allows them.
 * Every address of the host is checked (one private A record is enough to refuse), at subscription time and again
 * before each delivery, so a name re-pointed at an internal address after it was accepted (DNS rebinding) is caught.
 * `target` hands back the checked addresses so the sender connects to them (HttpSender pins its `lookup` to them):
 * there is no second lookup between the check and the connection for a rebinding answer to slip into.
 *
 * Resolutions are cached for `dnsTtlMs` (default 5 s; 0 = no cache) so a burst of deliveries to one host does not
 * make one DNS lookup each; the cached addresses are checked again on every call (the policy is the judge, not the
 * cache). Failed lookups are not cached.
 */
export class SsrfGuard {
  private readonly cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly dns = new Map<string, { addresses: string[]; until: number }>();
  private readonly dnsTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly policy: SsrfPolicy,
    private readonly resolve: Resolver = systemResolver,
    cache: { dnsTtlMs?: number; now?: () => number } = {},
  ) {
    this.dnsTtlMs = cache.dnsTtlMs ?? 5_000;
    this.now = cache.now ?? Date.now;
    this.cidrs = policy.allowedCidrs.map((c) => {
      try {
        return c.includes('/') ? ipaddr.parseCIDR(c) : ([ipaddr.parse(c), ipaddr.parse(c).kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
      } catch {
        throw new Error(`VIGIL_WEBHOOK_ALLOWED_CIDRS: ${JSON.stringify(c)} is not an IP address or CIDR`);
      }
    });
  }

  /** The reason an address may not be called, or null when it may. */
  refusalFor(ip: string): string | null {
    if (this.policy.allowPrivate) return null;
    const range = nonPublicRange(ip);
    if (range === null) return null;
    if (range !== 'invalid' && this.inAllowedCidr(ip)) return null;
    return `${ip} is a ${range} address`;
  }

  /** Throws SsrfRefusal when the URL is not http(s) or its host resolves to an address that may not be called. */
  async check(url: string): Promise<void> {
    await this.target(url);
  }

  /** Like `check`, and returns the parsed URL with the addresses that were checked (connect to these only). */
  async target(url: string): Promise<CheckedTarget> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new SsrfRefusal('not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SsrfRefusal(`scheme ${u.protocol} is not allowed (http or https only)`);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      addresses = await this.lookup(host);
      if (addresses.length === 0) throw new SsrfRefusal(`${host} has no addresses`);
    }
    for (const ip of addresses) {
      const why = this.refusalFor(ip);
      if (why) throw new SsrfRefusal(`target ${host} refused: ${why} (allow with VIGIL_WEBHOOK_ALLOWED_CIDRS or VIGIL_WEBHOOK_ALLOW_PRIVATE)`);
    }
    return { url: u, addresses };
  }

  private async lookup(host: string): Promise<string[]> {
    const now = this.now();
    const hit = this.dns.get(host);
    if (hit && hit.until > now) return hit.addresses;
    let addresses: string[];
    try {
      addresses = await this.resolve(host);
    } catch (e) {
      this.dns.delete(host);
      throw new SsrfRefusal(`cannot resolve ${host}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.dnsTtlMs > 0 && addresses.length > 0) {
      // Bounded: a stale entry is dropped before a new one is added once the map is large.
      if (this.dns.size >= 10_000) for (const [k, v] of this.dns) if (v.until <= now) this.dns.delete(k);
      this.dns.set(host, { addresses, until: now + this.dnsTtlMs });
    }
    return addresses;
  }

  private inAllowedCidr(ip: string): boolean {
    const addr = ipaddr.process(ip);
    return this.cidrs.some(([range, bits]) => {
      const a = addr.kind() === range.kind() ? addr : null;
      return a !== null && a.match([range, bits] as [typeof a, number]);
    });
  }
}
