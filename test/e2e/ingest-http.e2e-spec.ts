import { jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SqliteStore, newApiKeyToken, type ApiKeyRecord } from '@vigil/platform';
import { BULK_FORMATS, bulkRecord, expectedFields, rawRecord, bulkSpec } from '../fixtures/gateway-records.js';
import { getText, spawnService, type ServiceProcess } from './helpers/service-process.js';

jest.setTimeout(90_000);

/**
 * POST /v1/logs on the ingest service in standalone mode (in-process bus, SQLite in a temporary data dir), driven
 * over HTTP the way a log shipper (Vector, Fluent Bit, Kong http-log) would.
 */
const TENANT = 'acme-http';
const MAX_BODY = 64 * 1024;
const MAX_PENDING = 50;

interface IntakeAnswer {
  accepted: number;
  rejected: number;
  errors: { index: number; reason: string; message: string }[];
}

function apiKey(scopes: string[], role: string): { record: ApiKeyRecord; token: string } {
  const t = newApiKeyToken();
  const now = Date.now();
  return {
    token: t.token,
    record: {
      id: t.id, tenant: TENANT, name: `e2e-${role}`, hash: t.hash, prefix: t.prefix, scopes, role, allowedIps: [],
      createdAt: now, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: now,
    },
  };
}

describe('ingest service: POST /v1/logs (standalone)', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'vigil-e2e-ingest-http-')), 'data');
  const writer = apiKey(['logs:write'], 'shipper');
  const viewer = apiKey(['incidents:read', 'alerts:read'], 'viewer');
  const base = Date.now() - 60_000;
  let svc: ServiceProcess;
  /** Rejections answered so far, by reason, to compare with /metrics. */
  const rejectedByReason = new Map<string, number>();
  /** Records answered as accepted, by the request id they were sent under. */
  let acceptedTotal = 0;

  const post = async (body: string | Buffer, headers: Record<string, string>, token: string | null = writer.token) => {
    const res = await fetch(`${svc.url}/v1/logs`, {
      method: 'POST',
      body,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    });
    const text = await res.text();
    const json = text.startsWith('{') ? (JSON.parse(text) as unknown) : text;
    if (res.status === 200) {
      const a = json as IntakeAnswer;
      acceptedTotal += a.accepted;
      for (const e of a.errors) rejectedByReason.set(e.reason, (rejectedByReason.get(e.reason) ?? 0) + 1);
    }
    return { status: res.status, headers: res.headers, body: json };
  };
  const errorsOf = (a: unknown) => (a as IntakeAnswer).errors.map((e) => [e.index, e.reason]);

  beforeAll(async () => {
    const store = new SqliteStore({ path: join(dataDir, 'vigil.sqlite') });
    await store.migrate();
    await store.apiKeys.put(writer.record);
    await store.apiKeys.put(viewer.record);
    await store.close();
    svc = await spawnService('ingest', {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_INGEST_MAX_BODY_BYTES: String(MAX_BODY),
      VIGIL_INGEST_MAX_PENDING_EVENTS: String(MAX_PENDING),
    });
  });
  afterAll(() => svc?.kill());

  it('accepts NDJSON of several formats and answers each rejected line with its index and reason', async () => {
    const good = BULK_FORMATS.map((_, i) => bulkRecord(i, base).raw);
    const lines = [
      good[0], good[1],
      '{"request":{"method":"GET"', // truncated JSON
      good[2], good[3],
      rawRecord('vigil', { ...bulkSpec(90, base, 'vigil'), ts: Date.UTC(2099, 0, 1) }),
      good[4],
      '{"hello":"world"}',
      good[5],
    ];
    const res = await post(lines.join('\n') + '\n', { 'content-type': 'application/x-ndjson', 'x-request-id': 'req-ndjson-1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 6, rejected: 3 });
    expect(errorsOf(res.body)).toEqual([
      [2, 'invalid_json'],
      [5, 'absurd_timestamp'],
      [7, 'unknown_format'],
    ]);
    expect((res.body as IntakeAnswer).errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it('accepts a JSON array of records', async () => {
    const records = [100, 101, 105].map((n) => JSON.parse(bulkRecord(n, base).raw) as object); // traefik, vigil, aws
    const res = await post(JSON.stringify([...records, 42]), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 3, rejected: 1 });
    expect(errorsOf(res.body)).toEqual([[3, 'unknown_format']]);
  });

  it('accepts text/plain nginx lines and rejects a line that is not one', async () => {
    const lines = [200, 206, 212].map((n) => rawRecord('nginx', bulkSpec(n, base, 'nginx')));
    const res = await post([...lines, 'this is not an access log line'].join('\r\n'), { 'content-type': 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 3, rejected: 1 });
    expect(errorsOf(res.body)).toEqual([[3, 'unknown_format']]);
  });

  it('accepts a gzip-encoded body', async () => {
    const body = gzipSync([300, 301, 302, 303].map((n) => bulkRecord(n, base).raw).join('\n'));
    const res = await post(body, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 4, rejected: 0, errors: [] });
  });

  it.each([
    ['no key', null, 401],
    ['an unknown key', 'vgl_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 401],
    ['a malformed key', 'not-a-key', 401],
  ])('answers 401 to a request with %s', async (_what, token, status) => {
    const res = await post(bulkRecord(400, base).raw, { 'content-type': 'application/x-ndjson' }, token);
    expect(res.status).toBe(status);
  });

  it('answers 403 to a key without logs:write', async () => {
    const res = await post(bulkRecord(401, base).raw, { 'content-type': 'application/x-ndjson' }, viewer.token);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).toContain('logs:write');
  });

  it('answers 413 to a body over VIGIL_INGEST_MAX_BODY_BYTES, compressed or not', async () => {
    const big = Array.from({ length: 120 }, (_, i) => bulkRecord(500 + i, base).raw).join('\n');
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_BODY);
    expect((await post(big, { 'content-type': 'application/x-ndjson' })).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    expect((await post(bomb, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })).status).toBe(413);
  });

  it('answers 400 to an unknown X-Vigil-Log-Format', async () => {
    const res = await post(bulkRecord(402, base).raw, { 'content-type': 'application/x-ndjson', 'x-vigil-log-format': 'fluentd' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('fluentd');
  });

  it('answers 429 with Retry-After when one request alone exceeds VIGIL_INGEST_MAX_PENDING_EVENTS, and stores none of it', async () => {
    const lines = Array.from({ length: MAX_PENDING + 10 }, (_, i) => rawRecord('vigil', bulkSpec(700 + i, base, 'vigil')));
    const res = await post(lines.join('\n'), { 'content-type': 'application/x-ndjson' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const store = new SqliteStore({ path: join(dataDir, 'vigil.sqlite') });
    try {
      const paths = new Set((await store.accessEvents.list({ tenant: TENANT, limit: 1000 })).map((e) => e.path));
      expect(paths.has(bulkSpec(700, base, 'vigil').path)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('counts every rejection by reason on /metrics', async () => {
    const { body } = await getText(`${svc.url}/metrics`);
    const metric = new Map<string, number>();
    for (const m of body.matchAll(/^vigil_ingest_rejected_total\{([^}]*)\} (\d+)/gm)) {
      const reason = /reason="([^"]+)"/.exec(m[1]!)?.[1];
      if (reason) metric.set(reason, Number(m[2]));
    }
    expect(Object.fromEntries(metric)).toEqual(Object.fromEntries(rejectedByReason));
    expect(Object.fromEntries(rejectedByReason)).toEqual({ invalid_json: 1, absurd_timestamp: 1, unknown_format: 3 });
  });

  it('has stored every accepted event and dead-lettered every rejected record in SQLite', async () => {
    const store = new SqliteStore({ path: join(dataDir, 'vigil.sqlite') });
    try {
      const events = await store.accessEvents.list({ tenant: TENANT, limit: 1000 });
      expect(events).toHaveLength(acceptedTotal);
      expect(acceptedTotal).toBe(6 + 3 + 3 + 4);
      const first = bulkRecord(0, base);
      expect(events.find((e) => e.path === first.spec.path)).toMatchObject(expectedFields(first.format, first.spec, TENANT));
      expect(new Set(events.map((e) => e.format))).toEqual(new Set(BULK_FORMATS));
      const letters = await store.deadLetters.list({ tenant: TENANT });
      expect(letters).toHaveLength(5);
      expect(letters.filter((l) => l.source.startsWith('http:req-ndjson-1#')).map((l) => l.source).sort()).toEqual(
        ['http:req-ndjson-1#2', 'http:req-ndjson-1#5', 'http:req-ndjson-1#7'],
      );
      expect(letters.find((l) => l.source === 'http:req-ndjson-1#2')?.raw).toBe('{"request":{"method":"GET"');
    } finally {
      await store.close();
    }
  });
});
