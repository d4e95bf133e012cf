import { jest } from '@jest/globals';
import { waitFor } from '@vigil/testing';
import { spawnService, type ServiceProcess } from './helpers/service-process.js';

jest.setTimeout(90_000);

const LIMIT = 40;

interface KeyAnswer { id: string; token: string; scopes: string[]; role: string; expiresAt: number | null }

/** The standalone app as an operator runs it: first boot prints an admin key once; every /v1 route needs a key. */
describe('API security (standalone)', () => {
  let svc: ServiceProcess;
  let adminToken: string;

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & unknown[] };
  };
  const newKey = async (body: Record<string, unknown>): Promise<KeyAnswer> => {
    const r = await call('POST', '/v1/api-keys', adminToken, body);
    expect(r.status).toBe(201);
    return r.body as unknown as KeyAnswer;
  };

  beforeAll(async () => {
    svc = await spawnService('standalone', { VIGIL_RATE_LIMIT_PER_MINUTE: String(LIMIT), VIGIL_TENANT: 'acme' });
    const m = /Admin key\s+(vgl_\S+)/.exec(svc.stderr());
    expect(m).not.toBeNull();
    adminToken = m![1]!;
  });
  afterAll(() => svc?.kill());

  it('prints the admin key once and never logs it', async () => {
    expect(svc.stdout()).not.toContain(adminToken);
    expect((await call('GET', '/v1/api-keys', adminToken)).status).toBe(200);
  });

  it.each(['/v1/api-keys', '/v1/webhooks', '/v1/audit'])('answers 401 to %s without a key or with a malformed one', async (path) => {
    const none = await call('GET', path);
    expect(none.status).toBe(401);
    expect(String(none.body.message)).toContain('missing API key');
    expect((await call('GET', path, 'vgl_nope')).status).toBe(401);
  });

  it('answers 403 when the key lacks the scope (RBAC roles)', async () => {
    const viewer = await newKey({ name: 'dashboards', role: 'viewer' });
    expect(viewer.scopes).toEqual(['incidents:read', 'alerts:read']);
    expect((await call('GET', '/v1/webhooks', viewer.token)).status).toBe(403);
    expect((await call('GET', '/v1/api-keys', viewer.token)).status).toBe(403);
    const integrator = await newKey({ name: 'pagerduty-bridge', role: 'integrator' });
    expect((await call('GET', '/v1/webhooks', integrator.token)).status).toBe(200);
    expect((await call('GET', '/v1/audit', integrator.token)).status).toBe(403);
  });

  it('answers 400 with the reasons for an invalid body, and refuses a webhook target on a private address', async () => {
    const integrator = await newKey({ name: 'hooks', role: 'integrator' });
    const bad = await call('POST', '/v1/webhooks', integrator.token, { url: 'not a url', minSeverity: 'urgent' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'url' }), expect.objectContaining({ path: 'minSeverity' })]));
    const ssrf = await call('POST', '/v1/webhooks', integrator.token, { url: 'http://169.254.169.254/latest/meta-data' });
    expect(ssrf.status).toBe(400);
    expect(String(ssrf.body.message)).toContain('169.254.169.254 is a linkLocal address');
    expect((await call('POST', '/v1/api-keys', adminToken, { name: 'x', role: 'superuser' })).status).toBe(400);
  });

  it('answers 429 with Retry-After once a key spends its per-minute budget, without affecting other keys', async () => {
    const hammer = await newKey({ name: 'hammer', role: 'integrator' });
    const other = await newKey({ name: 'other', role: 'integrator' });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await call('GET', '/v1/webhooks', hammer.token)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const over = await call('GET', '/v1/webhooks', hammer.token);
    expect(over.status).toBe(429);
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect((await call('GET', '/v1/webhooks', other.token)).status).toBe(200);
  });

  it('keeps a rotated key working during the overlap only, and the new key from the start', async () => {
    const old = await newKey({ name: 'shipper', role: 'integrator' });
    const rotated = await call('POST', `/v1/api-keys/${old.id}/rotate`, adminToken, { overlapSeconds: 2 });
    expect(rotated.status).toBe(200);
    const { key } = rotated.body as unknown as { key: KeyAnswer };
    expect(key.token).not.toBe(old.token);
    expect((await call('GET', '/v1/webhooks', key.token)).status).toBe(200);
    expect((await call('GET', '/v1/webhooks', old.token)).status).toBe(200);
    await waitFor(async () => (await call('GET', '/v1/webhooks', old.token)).status === 401, { timeoutMs: 15_000, what: 'the old key to expire' });
    expect((await call('GET', '/v1/webhooks', key.token)).status).toBe(200);
  });

  it('enforces a per-key IP allowlist', async () => {
    const elsewhere = await newKey({ name: 'office', role: 'integrator', allowedIps: ['10.0.0.0/8'] });
    const r = await call('GET', '/v1/webhooks', elsewhere.token);
    expect(r.status).toBe(403);
    expect(String(r.body.message)).toContain('not allowed from');
    const local = await newKey({ name: 'local', role: 'integrator', allowedIps: ['127.0.0.1'] });
    expect((await call('GET', '/v1/webhooks', local.token)).status).toBe(200);
  });

  it('revokes a key at once and records the administrative actions in the audit log', async () => {
    const k = await newKey({ name: 'temp', role: 'viewer' });
    expect((await call('DELETE', `/v1/api-keys/${k.id}`, adminToken)).status).toBe(200);
    await waitFor(async () => (await call('GET', '/v1/api-keys', k.token)).status === 401, { what: 'the revoked key to stop working' });
    const audit = await call('GET', `/v1/audit?targetId=${k.id}`, adminToken);
    expect(audit.status).toBe(200);
    expect((audit.body as unknown as { action: string }[]).map((e) => e.action)).toEqual(['api_key.revoked', 'api_key.created']);
  });
});
