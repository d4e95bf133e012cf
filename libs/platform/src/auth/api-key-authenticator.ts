import type { Scope } from '@vigil/contracts';
import ipaddr from 'ipaddr.js';
import type { Clock } from '../clock/clock.js';
import type { ApiKeyRecord, ApiKeyRepository } from '../ports/store.js';
import { hashApiKeyToken, hashesEqual, parseApiKeyToken } from './api-key-token.js';

export interface Principal {
  keyId: string;
  tenant: string;
  role: string;
  scopes: readonly string[];
}

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403; reason: string };

/**
 * Checks a presented token: well-formed, known, hash matches, not revoked or expired, caller IP in the
 * key's allowlist (when it has one), and the required scope (admin implies all).
 * A rotated key keeps working until its `expiresAt`, which rotation sets to the end of the overlap period.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly clock: Clock,
    private readonly cacheMs = 5_000,
  ) {}

  async authenticate(token: string | undefined, callerIp: string, required: readonly Scope[]): Promise<AuthOutcome> {
    if (!token) return { ok: false, status: 401, reason: 'missing API key (send Authorization: Bearer <key> or X-API-Key)' };
    const parsed = parseApiKeyToken(token);
    if (!parsed) return { ok: false, status: 401, reason: 'malformed API key' };
    const record = await this.lookup(parsed.id);
    const now = this.clock.now();
    if (!record || !hashesEqual(record.hash, hashApiKeyToken(token))) return { ok: false, status: 401, reason: 'unknown API key' };
    if (record.revokedAt !== null && record.revokedAt <= now) return { ok: false, status: 401, reason: 'API key revoked' };
    if (record.expiresAt !== null && record.expiresAt <= now) return { ok: false, status: 401, reason: 'API key expired' };
    if (record.allowedIps.length > 0 && !ipAllowed(callerIp, record.allowedIps)) {
      return { ok: false, status: 403, reason: `API key not allowed from ${callerIp}` };
    }
    const missing = required.filter((s) => !record.scopes.includes(s) && !record.scopes.includes('admin'));
    if (missing.length) return { ok: false, status: 403, reason: `API key lacks scope ${missing.join(', ')}` };
    return { ok: true, principal: { keyId: record.id, tenant: record.tenant, role: record.role, scopes: record.scopes } };
  }

  /** Drop cached records (after a key is revoked or rotated in this process). */
  invalidate(id?: string): void {
    if (id) this.cache.delete(id);
    else this.cache.clear();
  }

  private async lookup(id: string): Promise<ApiKeyRecord | null> {
    const now = this.clock.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.record;
    const record = await this.keys.get(id);
    this.cache.set(id, { record, until: now + this.cacheMs });
    return record;
  }
}

export function ipAllowed(ip: string, allowlist: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return allowlist.some((entry) => {
    try {
      if (entry.includes('/')) {
        const [range, bits] = ipaddr.parseCIDR(entry);
        const a = addr.kind() === range.kind() ? addr : null;
        return a !== null && a.match([range, bits] as [typeof a, number]);
      }
      return ipaddr.process(entry).toString() === addr.toString();
    } catch {
      return false;
    }
  });
}
