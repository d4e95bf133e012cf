import { createHash } from 'node:crypto';
import { ApiKeyAuthenticator, ManualClock, SqliteStore, type Principal } from '@vigil/platform';
import { AuditLog } from '../audit/audit-log.service.js';
import { ApiKeysService } from './api-keys.service.js';

async function setup() {
  const clock = new ManualClock(Date.UTC(2024, 2, 10, 12));
  const store = new SqliteStore({ path: ':memory:', clock });
  await store.migrate();
  const auth = new ApiKeyAuthenticator(store.apiKeys, clock, 0);
  const keys = new ApiKeysService(store, clock, auth, new AuditLog(store, clock));
  const admin: Principal = { keyId: 'adm', tenant: 'acme', role: 'admin', scopes: ['admin'] };
  return { clock, store, auth, keys, admin };
}

describe(ApiKeysService.name, () => {
  describe('create', () => {
    it('gives a key its role’s scopes unless scopes are given, stores only the SHA-256 of the token, and audits it', async () => {
      const { keys, store, auth, admin, clock } = await setup();
      const viewer = await keys.create(admin, 'acme', { name: 'grafana', role: 'viewer', allowedIps: [] });
      expect(viewer.scopes).toEqual(['incidents:read', 'alerts:read']);
      clock.advance(1_000);
      const custom = await keys.create(admin, 'acme', { name: 'ci', role: 'shipper', scopes: ['logs:write', 'alerts:read'], allowedIps: [] });
      expect(custom.scopes).toEqual(['logs:write', 'alerts:read']);

      const stored = await store.apiKeys.get(viewer.id);
      expect(stored?.hash).toBe(createHash('sha256').update(viewer.token).digest('hex'));
      // The secret is everything after `vgl_<id>_` (base64url, so it may hold '_' itself); the stored prefix shows its first 4 characters only.
      const secret = viewer.token.slice(`vgl_${viewer.id}_`.length);
      expect(secret).toHaveLength(43);
      expect(JSON.stringify(stored)).not.toContain(secret);
      expect(await auth.authenticate(viewer.token, '1.2.3.4', ['incidents:read'])).toMatchObject({ ok: true });
      expect(await auth.authenticate(viewer.token, '1.2.3.4', ['logs:write'])).toMatchObject({ ok: false, status: 403 });
      expect((await store.audit.list({})).map((e) => [e.action, e.targetId, e.actor])).toEqual([
        ['api_key.created', custom.id, 'key:adm'],
        ['api_key.created', viewer.id, 'key:adm'],
      ]);
      expect((await keys.list('acme')).map((k) => 'token' in k)).toEqual([false, false]);
    });

    it('sets the expiry from expiresInSeconds', async () => {
      const { keys, admin, clock, auth } = await setup();
      const k = await keys.create(admin, 'acme', { name: 'temp', role: 'viewer', allowedIps: [], expiresInSeconds: 60 });
      expect(k.expiresAt).toBe(clock.now() + 60_000);
      clock.advance(60_000);
      expect(await auth.authenticate(k.token, '1.2.3.4', [])).toMatchObject({ ok: false, reason: 'API key expired' });
    });
  });

  describe('rotate', () => {
    it('returns a new working key and keeps the old one working only until the end of the overlap', async () => {
      const { keys, admin, clock, auth } = await setup();
      const old = await keys.create(admin, 'acme', { name: 'shipper', role: 'shipper', allowedIps: ['10.0.0.0/8'] });
      const { key, previous } = await keys.rotate(admin, old.id, 300);
      expect(key).toMatchObject({ name: 'shipper', role: 'shipper', scopes: ['logs:write'], allowedIps: ['10.0.0.0/8'], expiresAt: null });
      expect(key.token).not.toBe(old.token);
      expect(previous.expiresAt).toBe(clock.now() + 300_000);
      clock.advance(299_000);
      expect(await auth.authenticate(old.token, '10.1.1.1', ['logs:write'])).toMatchObject({ ok: true });
      clock.advance(1_000);
      expect(await auth.authenticate(old.token, '10.1.1.1', ['logs:write'])).toMatchObject({ ok: false, status: 401, reason: 'API key expired' });
      expect(await auth.authenticate(key.token, '10.1.1.1', ['logs:write'])).toMatchObject({ ok: true });
    });

    it('refuses to rotate a revoked key or one of another tenant', async () => {
      const { keys, admin } = await setup();
      const k = await keys.create(admin, 'acme', { name: 'x', role: 'viewer', allowedIps: [] });
      await expect(keys.rotate({ ...admin, tenant: 'globex' }, k.id, 10)).rejects.toThrow(`no API key ${k.id}`);
      await keys.revoke(admin, k.id);
      await expect(keys.rotate(admin, k.id, 10)).rejects.toThrow('revoked or expired');
    });
  });

  it('revoke stops the key at once', async () => {
    const { keys, admin, auth } = await setup();
    const k = await keys.create(admin, 'acme', { name: 'x', role: 'analyst', allowedIps: [] });
    expect(await auth.authenticate(k.token, '1.1.1.1', ['incidents:write'])).toMatchObject({ ok: true });
    await keys.revoke(admin, k.id);
    expect(await auth.authenticate(k.token, '1.1.1.1', ['incidents:write'])).toMatchObject({ ok: false, reason: 'API key revoked' });
  });

  it('createAdminKeyIfNone creates one admin key on first run, and none while a usable one exists', async () => {
    const { keys, store, auth } = await setup();
    const first = await keys.createAdminKeyIfNone('acme');
    expect(first).toMatchObject({ role: 'admin', scopes: ['admin'], tenant: 'acme' });
    expect(await auth.authenticate(first!.token, '1.1.1.1', ['webhooks:manage'])).toMatchObject({ ok: true });
    expect(await keys.createAdminKeyIfNone('acme')).toBeNull();
    expect(await store.apiKeys.list()).toHaveLength(1);
    expect(await store.audit.list({})).toEqual([expect.objectContaining({ actor: 'system', action: 'api_key.created' })]);
  });
});
