import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { ROLE_SCOPES } from '@vigil/contracts';
import {
  ApiKeyAuthenticator,
  CLOCK,
  newApiKeyToken,
  STORE,
  type ApiKeyRecord,
  type Clock,
  type Principal,
  type Store,
} from '@vigil/platform';
import { AuditLog } from '../audit/audit-log.service.js';
import type { ApiKeyView, CreateApiKeyBody, CreatedApiKey } from './api-keys.dto.js';

export function apiKeyView(k: ApiKeyRecord): ApiKeyView {
  return {
    id: k.id, tenant: k.tenant, name: k.name, prefix: k.prefix, role: k.role, scopes: k.scopes, allowedIps: k.allowedIps,
    createdAt: k.createdAt, expiresAt: k.expiresAt, revokedAt: k.revokedAt, lastUsedAt: k.lastUsedAt,
  };
}

/**
 * API key management: create (token shown once, SHA-256 at rest), list, revoke, rotate with an overlap (the new key
 * is returned once; the old one keeps working until `now + overlap`). Each change is audited. Keys are scoped to the
 * caller's tenant.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly auth: ApiKeyAuthenticator,
    private readonly audit: AuditLog,
  ) {}

  async create(actor: Principal | 'system', tenant: string, body: CreateApiKeyBody): Promise<CreatedApiKey> {
    const now = this.clock.now();
    const t = newApiKeyToken();
    const record: ApiKeyRecord = {
      id: t.id, tenant, name: body.name, hash: t.hash, prefix: t.prefix, role: body.role,
      scopes: [...new Set(body.scopes ?? ROLE_SCOPES[body.role])], allowedIps: body.allowedIps, createdAt: now,
      expiresAt: body.expiresInSeconds === undefined ? null : now + body.expiresInSeconds * 1000, revokedAt: null, lastUsedAt: null,
      updatedAt: now,
    };
    await this.store.apiKeys.put(record);
    await this.audit.record({
      actor, tenant, action: 'api_key.created', targetType: 'api_key', targetId: record.id,
      details: { name: record.name, role: record.role, scopes: record.scopes, allowedIps: record.allowedIps, expiresAt: record.expiresAt },
    });
    return { ...apiKeyView(record), token: t.token };
  }

  async list(tenant: string): Promise<ApiKeyView[]> {
    return (await this.store.apiKeys.list(tenant)).map(apiKeyView);
  }

  async get(tenant: string, id: string): Promise<ApiKeyView> {
    return apiKeyView(await this.load(tenant, id));
  }

  async revoke(actor: Principal, id: string): Promise<ApiKeyView> {
    const k = await this.load(actor.tenant, id);
    const now = this.clock.now();
    const revoked: ApiKeyRecord = { ...k, revokedAt: k.revokedAt ?? now, updatedAt: Math.max(now, k.updatedAt + 1) };
    await this.store.apiKeys.put(revoked);
    this.auth.invalidate(id);
    await this.audit.record({ actor, tenant: k.tenant, action: 'api_key.revoked', targetType: 'api_key', targetId: id, details: { name: k.name } });
    return apiKeyView(revoked);
  }

  /** A new key with the same name, role, scopes and allowlist; the old one expires at now + overlap (or earlier, if it already did). */
  async rotate(actor: Principal, id: string, overlapSeconds: number): Promise<{ key: CreatedApiKey; previous: ApiKeyView }> {
    const old = await this.load(actor.tenant, id);
    const now = this.clock.now();
    if (old.revokedAt !== null || (old.expiresAt !== null && old.expiresAt <= now)) {
      throw new NotFoundException(`API key ${id} is revoked or expired; create a new one instead`);
    }
    const overlapEnd = now + overlapSeconds * 1000;
    const previous: ApiKeyRecord = {
      ...old, expiresAt: old.expiresAt === null ? overlapEnd : Math.min(old.expiresAt, overlapEnd), updatedAt: Math.max(now, old.updatedAt + 1),
    };
    const t = newApiKeyToken();
    const next: ApiKeyRecord = {
      ...old, id: t.id, hash: t.hash, prefix: t.prefix, createdAt: now, revokedAt: null, lastUsedAt: null, updatedAt: now,
      expiresAt: old.expiresAt === null ? null : now + (old.expiresAt - old.createdAt),
    };
    await this.store.apiKeys.put(next);
    await this.store.apiKeys.put(previous);
    this.auth.invalidate(id);
    await this.audit.record({
      actor, tenant: old.tenant, action: 'api_key.rotated', targetType: 'api_key', targetId: id,
      details: { newKeyId: next.id, overlapSeconds, previousExpiresAt: previous.expiresAt },
    });
    return { key: { ...apiKeyView(next), token: t.token }, previous: apiKeyView(previous) };
  }

  /**
   * First run: when no usable admin key exists (none, or all revoked/expired), create one for `tenant` and return
   * its token (to print once); otherwise null.
   */
  async createAdminKeyIfNone(tenant: string): Promise<CreatedApiKey | null> {
    const now = this.clock.now();
    const usable = (await this.store.apiKeys.list()).some(
      (k) => k.scopes.includes('admin') && k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now),
    );
    if (usable) return null;
    return this.create('system', tenant, { name: 'bootstrap admin', role: 'admin', allowedIps: [] });
  }

  private async load(tenant: string, id: string): Promise<ApiKeyRecord> {
    const k = await this.store.apiKeys.get(id);
    if (!k || k.tenant !== tenant) throw new NotFoundException(`no API key ${id}`);
    return k;
  }
}
