import { ManualClock } from '../clock/clock.js';
import type { ApiKeyRecord, ApiKeyRepository } from '../ports/store.js';
import { ApiKeyAuthenticator, ipAllowed } from './api-key-authenticator.js';
import { hashApiKeyToken, newApiKeyToken, parseApiKeyToken } from './api-key-token.js';

class MemoryKeys implements ApiKeyRepository {
  readonly rows = new Map<string, ApiKeyRecord>();
  async put(k: ApiKeyRecord) { this.rows.set(k.id, k); }
  async get(id: string) { return this.rows.get(id) ?? null; }
  async findByHash(hash: string) { return [...this.rows.values()].find((k) => k.hash === hash) ?? null; }
  async list() { return [...this.rows.values()]; }
}

function setup(overrides: Partial<ApiKeyRecord> = {}) {
  const clock = new ManualClock(1_000_000);
  const keys = new MemoryKeys();
  const t = newApiKeyToken();
  const record: ApiKeyRecord = {
    id: t.id, tenant: 'acme', name: 'shipper', hash: t.hash, prefix: t.prefix, scopes: ['logs:write'], role: 'shipper',
    allowedIps: [], createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0, ...overrides,
  };
  void keys.put(record);
  return { auth: new ApiKeyAuthenticator(keys, clock, 0), token: t.token, clock, keys, record };
}

describe(ApiKeyAuthenticator.name, () => {
  it('accepts a valid key with the required scope and names its tenant', async () => {
    const { auth, token } = setup();
    await expect(auth.authenticate(token, '203.0.113.1', ['logs:write'])).resolves.toEqual({
      ok: true, principal: expect.objectContaining({ tenant: 'acme', role: 'shipper' }),
    });
  });

  it.each([
    ['no key', undefined, 401, 'missing API key'],
    ['a malformed key', 'hunter2', 401, 'malformed'],
    ['an unknown key of the right shape', newApiKeyToken().token, 401, 'unknown'],
  ])('refuses %s with %p', async (_label, token, status, reason) => {
    const { auth } = setup();
    const out = await auth.authenticate(token, '203.0.113.1', ['logs:write']);
    expect(out).toEqual({ ok: false, status, reason: expect.stringContaining(reason) });
  });

  it('refuses a key whose secret differs from the stored hash', async () => {
    const { auth, token } = setup();
    const forged = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(await auth.authenticate(forged, '1.1.1.1', [])).toMatchObject({ ok: false, status: 401, reason: 'unknown API key' });
  });

  it('answers 403 when the scope is missing, and admin implies every scope', async () => {
    const a = setup();
    expect(await a.auth.authenticate(a.token, '1.1.1.1', ['incidents:read'])).toMatchObject({ ok: false, status: 403 });
    const b = setup({ scopes: ['admin'] });
    expect(await b.auth.authenticate(b.token, '1.1.1.1', ['incidents:read', 'webhooks:manage'])).toMatchObject({ ok: true });
  });

  it('stops accepting a key at its expiry (the end of a rotation overlap) and once revoked', async () => {
    const a = setup({ expiresAt: 1_000_500 });
    expect(await a.auth.authenticate(a.token, '1.1.1.1', [])).toMatchObject({ ok: true });
    a.clock.advance(500);
    expect(await a.auth.authenticate(a.token, '1.1.1.1', [])).toMatchObject({ ok: false, reason: 'API key expired' });
    const b = setup({ revokedAt: 999_999 });
    expect(await b.auth.authenticate(b.token, '1.1.1.1', [])).toMatchObject({ ok: false, reason: 'API key revoked' });
  });

  it('enforces the per-key IP allowlist', async () => {
    const { auth, token } = setup({ allowedIps: ['10.1.0.0/16', '2001:db8::1'] });
    expect(await auth.authenticate(token, '10.1.200.3', [])).toMatchObject({ ok: true });
    expect(await auth.authenticate(token, '::ffff:10.1.2.3', [])).toMatchObject({ ok: true });
    expect(await auth.authenticate(token, '2001:db8::1', [])).toMatchObject({ ok: true });
    expect(await auth.authenticate(token, '10.2.0.1', [])).toMatchObject({ ok: false, status: 403 });
  });
});

describe('api key tokens', () => {
  it('round-trip: the id parses back and the hash is the SHA-256 of the whole token', () => {
    const t = newApiKeyToken();
    expect(parseApiKeyToken(t.token)).toEqual({ id: t.id });
    expect(hashApiKeyToken(t.token)).toBe(t.hash);
    expect(t.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(t.token.startsWith(t.prefix)).toBe(true);
  });
  it.each([['1.2.3.4', ['1.2.3.0/24'], true], ['1.2.4.4', ['1.2.3.0/24'], false], ['bogus', ['0.0.0.0/0'], false]])(
    'ipAllowed(%s, %j) = %s', (ip, list, want) => expect(ipAllowed(ip, list)).toBe(want),
  );
});
