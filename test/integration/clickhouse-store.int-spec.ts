import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Incident } from '@vigil/contracts';
import { ManualClock, type AccessEventFilter } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { MIGRATIONS } from '@vigil/platform/clickhouse/migrations/index';
import { testEndpoints, uniqueName } from '@vigil/testing';
import {
  aDeadLetter,
  aDelivery,
  anAccessEvent,
  anAnomaly,
  anApiKey,
  anIncident,
  aWebhookSubscription,
} from '@vigil/testing/factories';

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);

describe(ClickHouseStore.name, () => {
  const { clickhouseUrl } = testEndpoints();
  const database = uniqueName('vigil_test');
  const clock = new ManualClock(T0);
  let store: ClickHouseStore;
  let admin: ClickHouseClient;

  const rows = async <T>(query: string): Promise<T[]> => (await admin.query({ query, format: 'JSONEachRow' })).json<T>();
  const activeParts = async (table: string): Promise<number> => {
    const r = await rows<{ n: number | string }>(
      `SELECT count() AS n FROM system.parts WHERE database = '${database}' AND table = '${table}' AND active`,
    );
    return Number(r[0]?.n ?? 0);
  };

  beforeAll(async () => {
    admin = createClient({ url: clickhouseUrl, username: 'default', password: '' });
    store = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database, clock });
  });

  afterAll(async () => {
    await store.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  describe('migrate', () => {
    it('creates the database and every table, records the version, and is a no-op the second time', async () => {
      expect(await store.migrate()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await store.migrate()).toEqual([]);

      const tables = await rows<{ name: string; engine: string }>(
        `SELECT name, engine FROM system.tables WHERE database = '${database}' ORDER BY name`,
      );
      const core = ['access_events', 'anomalies', 'api_keys', 'dead_letters', 'incidents', 'schema_migrations', 'webhook_deliveries', 'webhook_subscriptions'];
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(core));
      expect(new Set(tables.filter((t) => core.includes(t.name)).map((t) => t.engine))).toEqual(new Set(['ReplacingMergeTree']));
      const recorded = await rows<{ version: string; applied_at: string | number }>(
        `SELECT version, applied_at FROM ${database}.schema_migrations`,
      );
      expect(recorded.map((r) => [r.version, Number(r.applied_at)]).sort()).toEqual(MIGRATIONS.map((m) => [m.version, T0]));
    });

    it('is idempotent across instances: a second store on the same database applies nothing', async () => {
      const other = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database, clock });
      try {
        expect(await other.migrate()).toEqual([]);
      } finally {
        await other.close();
      }
    });
  });

  describe('accessEvents', () => {
    const tenant = uniqueName('t');
    const events = [
      anAccessEvent({ tenant, ts: T0 + 1000, clientIp: '198.51.100.1', tokenId: 'tok-a', route: '/v1/a' }),
      anAccessEvent({ tenant, ts: T0 + 2000, clientIp: '198.51.100.2', tokenId: 'tok-b', route: '/v1/b', latencyMs: 0.1 + 0.2 }),
      anAccessEvent({ tenant, ts: T0 + 3000, clientIp: '198.51.100.1', tokenId: 'tok-b', route: '/v1/a', bytesOut: 2 ** 40 }),
    ];

    beforeAll(async () => {
      await store.accessEvents.insert(events);
      // Redelivery of the first two, in a separate INSERT: a second part that has not merged yet.
      await store.accessEvents.insert([events[0]!, events[1]!]);
    });

    it('never shows twins after a redelivery, newest first, every field intact', async () => {
      expect(await store.accessEvents.list({ tenant })).toEqual([events[2], events[1], events[0]]);
      expect(await store.accessEvents.count({ tenant })).toBe(3);
    });

    it.each<[string, () => AccessEventFilter, number[]]>([
      ['clientIp', () => ({ clientIp: '198.51.100.1' }), [2, 0]],
      ['tokenId', () => ({ tokenId: 'tok-b' }), [2, 1]],
      ['route', () => ({ route: '/v1/b' }), [1]],
      ['ids', () => ({ ids: [events[0]!.id, events[2]!.id, 'no-such-id'] }), [2, 0]],
      ['[from, to)', () => ({ from: T0 + 2000, to: T0 + 3000 }), [1]],
    ])('lists and counts by %s', async (_name, filter, expected) => {
      expect((await store.accessEvents.list({ tenant, ...filter() })).map((e) => e.id)).toEqual(expected.map((i) => events[i]!.id));
      expect(await store.accessEvents.count({ tenant, ...filter() })).toBe(expected.length);
    });

    it('returns at most `limit` events, newest first', async () => {
      expect((await store.accessEvents.list({ tenant, limit: 2 })).map((e) => e.id)).toEqual([events[2]!.id, events[1]!.id]);
    });

    it('treats an empty ids filter as matching nothing', async () => {
      expect(await store.accessEvents.list({ tenant, ids: [] })).toEqual([]);
      expect(await store.accessEvents.count({ tenant, ids: [] })).toBe(0);
    });

    it('rejects a limit that is not a positive integer', async () => {
      await expect(store.accessEvents.list({ tenant, limit: 0 })).rejects.toThrow(RangeError);
    });
  });

  describe('anomalies', () => {
    const tenant = uniqueName('t');
    const low = anAnomaly({ tenant, severity: 'low', detectedAt: T0 + 1, observed: -1.5, lower: -1e-9, upper: 1e300 });
    const high = anAnomaly({ tenant, severity: 'high', detectedAt: T0 + 2, detector: 'error-ratio', early: true });
    const critical = anAnomaly({ tenant, severity: 'critical', detectedAt: T0 + 3, entityType: 'token', entity: 'tok-1' });

    beforeAll(async () => {
      await store.anomalies.insert([low, high, critical]);
      await store.anomalies.insert([high]);
    });

    it('round-trips every field, including contributors, sample ids and extreme floats', async () => {
      expect(await store.anomalies.get(low.id)).toEqual(low);
      expect(await store.anomalies.get('missing')).toBeNull();
    });

    it.each([
      ['minSeverity', { minSeverity: 'high' as const }, ['critical', 'high']],
      ['detector', { detector: 'error-ratio' }, ['high']],
      ['entityType + entity', { entityType: 'token' as const, entity: 'tok-1' }, ['critical']],
      ['[from, to)', { from: T0 + 1, to: T0 + 3 }, ['high', 'low']],
      ['no filter (no twins after redelivery)', {}, ['critical', 'high', 'low']],
    ])('lists by %s, newest first', async (_name, filter, expected) => {
      const list = await store.anomalies.list({ tenant, ...filter });
      expect(list.map((a) => a.severity)).toEqual(expected);
    });
  });

  describe('incidents', () => {
    it('keeps the highest revision even when an older revision is written later and before any merge', async () => {
      await admin.command({ query: `SYSTEM STOP MERGES ${database}.incidents` });
      try {
        const tenant = uniqueName('t');
        const v1 = anIncident({ tenant, status: 'open', revision: 1 });
        const v3: Incident = { ...v1, status: 'resolved', resolvedAt: v1.lastSeen + 10, revision: 3, title: 'resolved one' };
        const v2: Incident = { ...v1, status: 'acknowledged', revision: 2 };
        await store.incidents.upsert(v1);
        await store.incidents.upsert(v3);
        await store.incidents.upsert(v2);
        expect(await activeParts('incidents')).toBeGreaterThanOrEqual(3);

        expect(await store.incidents.get(v1.id)).toEqual(v3);
        // A filter on a mutable column must see only the latest revision, never a stale one.
        expect((await store.incidents.list({ tenant, status: 'open' })).items).toEqual([]);
        expect((await store.incidents.list({ tenant, status: 'acknowledged' })).items).toEqual([]);
        expect((await store.incidents.list({ tenant, status: 'resolved' })).items).toEqual([v3]);
      } finally {
        await admin.command({ query: `SYSTEM START MERGES ${database}.incidents` });
      }
    });

    it('pages by (lastSeen, id) in both directions with an opaque cursor, each incident exactly once', async () => {
      const tenant = uniqueName('t');
      // Ties on lastSeen are broken by id.
      const all = [5, 1, 3, 3, 3, 9, 7].map((k, i) => anIncident({ tenant, id: `inc-${i}`, firstSeen: T0, lastSeen: T0 + k * 1000 }));
      for (const i of all) await store.incidents.upsert(i);
      const key = (i: Incident) => [i.lastSeen, i.id] as const;
      const asc = [...all].sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1].localeCompare(key(b)[1]));

      for (const order of ['asc', 'desc'] as const) {
        const seen: string[] = [];
        const pages: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.incidents.list({ tenant, order, limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((i) => i.id));
          pages.push(page.items.length);
          cursor = page.nextCursor ?? undefined;
          if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        } while (cursor);
        const expected = (order === 'asc' ? asc : [...asc].reverse()).map((i) => i.id);
        expect(seen).toEqual(expected);
        expect(pages).toEqual([3, 3, 1]);
      }
    });

    it('defaults to newest first and filters by severity, detector, entity and time range', async () => {
      const tenant = uniqueName('t');
      const a = anIncident({ tenant, severity: 'low', detectors: ['rate-zscore'], firstSeen: T0, lastSeen: T0 + 1000 });
      const b = anIncident({ tenant, severity: 'critical', detectors: ['error-ratio'], entityType: 'token', entity: 'tok', firstSeen: T0 + 5000, lastSeen: T0 + 9000 });
      await store.incidents.upsert(a);
      await store.incidents.upsert(b);
      const ids = async (f: Parameters<typeof store.incidents.list>[0]) => (await store.incidents.list({ tenant, ...f })).items.map((i) => i.id);
      expect(await ids({})).toEqual([b.id, a.id]);
      expect(await ids({ minSeverity: 'high' })).toEqual([b.id]);
      expect(await ids({ detector: 'rate-zscore' })).toEqual([a.id]);
      expect(await ids({ entityType: 'token', entity: 'tok' })).toEqual([b.id]);
      expect(await ids({ from: T0 + 2000 })).toEqual([b.id]);
      expect(await ids({ to: T0 + 5000 })).toEqual([a.id]);
    });

    it('rejects a tampered cursor', async () => {
      await expect(store.incidents.list({ cursor: "x'; DROP TABLE incidents; --" })).rejects.toThrow(/cursor/i);
      await expect(store.incidents.list({ cursor: Buffer.from('[1]').toString('base64url') })).rejects.toThrow(/cursor/i);
    });
  });

  describe('apiKeys', () => {
    it('returns the latest version, finds by the current hash only, and lists per tenant', async () => {
      const tenant = uniqueName('t');
      const key = anApiKey({ tenant, updatedAt: T0 });
      const rotated = { ...key, hash: 'f'.repeat(64), revokedAt: T0 + 5, lastUsedAt: T0 + 4, updatedAt: T0 + 5 };
      const other = anApiKey({ tenant, createdAt: key.createdAt + 1 });
      await store.apiKeys.put(key);
      await store.apiKeys.put(rotated);
      await store.apiKeys.put(other);
      expect(await store.apiKeys.get(key.id)).toEqual(rotated);
      expect(await store.apiKeys.findByHash(key.hash)).toBeNull();
      expect(await store.apiKeys.findByHash(rotated.hash)).toEqual(rotated);
      expect(await store.apiKeys.list(tenant)).toEqual([rotated, other]);
      expect((await store.apiKeys.list()).filter((k) => k.tenant === tenant)).toHaveLength(2);
    });
  });

  describe('webhooks', () => {
    it('keeps the latest subscription, hides tombstones from the list, and filters deliveries', async () => {
      const tenant = uniqueName('t');
      const s1 = aWebhookSubscription({ tenant, updatedAt: T0 });
      const s2 = aWebhookSubscription({ tenant, updatedAt: T0 });
      const s1v2 = { ...s1, enabled: false, events: [], updatedAt: T0 + 1 };
      const s2gone = { ...s2, deleted: true, updatedAt: T0 + 1 };
      for (const s of [s1, s2, s1v2, s2gone]) await store.webhooks.putSubscription(s);
      expect(await store.webhooks.getSubscription(s1.id)).toEqual(s1v2);
      expect(await store.webhooks.getSubscription(s2.id)).toEqual(s2gone);
      expect(await store.webhooks.listSubscriptions(tenant)).toEqual([s1v2]);

      const subscriptionId = s1.id;
      const ok = aDelivery({ subscriptionId, eventId: 'e1', status: 'succeeded', at: T0 + 1 });
      const failed = aDelivery({ subscriptionId, eventId: 'e1', attempt: 2, status: 'failed', httpStatus: 503, error: 'Service Unavailable', at: T0 + 2 });
      const dead = aDelivery({ subscriptionId, eventId: 'e2', status: 'dead', httpStatus: 0, error: 'ECONNREFUSED', at: T0 + 3 });
      for (const d of [ok, failed, dead, failed]) await store.webhooks.recordDelivery(d);
      expect(await store.webhooks.listDeliveries({ subscriptionId })).toEqual([dead, failed, ok]);
      expect(await store.webhooks.listDeliveries({ subscriptionId, eventId: 'e1' })).toEqual([failed, ok]);
      expect(await store.webhooks.listDeliveries({ subscriptionId, status: 'dead' })).toEqual([dead]);
      expect(await store.webhooks.listDeliveries({ subscriptionId, limit: 1 })).toEqual([dead]);
    });
  });

  describe('deadLetters', () => {
    it('lists newest first, matches reason as a substring, counts distinct ids in a time range', async () => {
      const tenant = uniqueName('t');
      const a = aDeadLetter({ tenant, receivedAt: T0 + 1, reason: 'status: Too big' });
      const b = aDeadLetter({ tenant, receivedAt: T0 + 2, reason: 'unparseable JSON at offset 3' });
      await store.deadLetters.insert([a, b]);
      await store.deadLetters.insert([a]);
      expect(await store.deadLetters.list({ tenant })).toEqual([b, a]);
      expect(await store.deadLetters.list({ tenant, reason: 'JSON' })).toEqual([b]);
      expect(await store.deadLetters.count({ tenant })).toBe(2);
      expect(await store.deadLetters.count({ tenant, from: T0 + 2 })).toBe(1);
      expect(await store.deadLetters.count({ tenant, to: T0 + 2 })).toBe(1);
    });
  });

  describe('dropOlderThan', () => {
    it('drops whole UTC days before the cutoff from every time-series table and keeps the rest', async () => {
      const db2 = uniqueName('vigil_test');
      const s = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database: db2, clock });
      try {
        await s.migrate();
        const now = Date.UTC(2024, 2, 10, 9, 30);
        const d = (daysAgo: number) => Date.UTC(2024, 2, 10 - daysAgo, 23, 59, 59, 999);
        await s.accessEvents.insert([anAccessEvent({ tenant: 'r', ts: d(9) }), anAccessEvent({ tenant: 'r', ts: d(7) }), anAccessEvent({ tenant: 'r', ts: d(0) })]);
        await s.anomalies.insert([anAnomaly({ tenant: 'r', windowStart: d(8) - 60_000, windowEnd: d(8), detectedAt: d(8) })]);
        await s.deadLetters.insert([aDeadLetter({ tenant: 'r', receivedAt: d(3) })]);
        await s.webhooks.recordDelivery(aDelivery({ at: d(10) }));

        // days = 7 on the 10th keeps the 3rd onwards.
        expect(await s.dropOlderThan(7, now)).toEqual(['20240229', '20240301', '20240302']);
        expect((await s.accessEvents.list({ tenant: 'r' })).map((e) => e.ts)).toEqual([d(0), d(7)]);
        expect(await s.anomalies.list({ tenant: 'r' })).toEqual([]);
        expect(await s.deadLetters.count({ tenant: 'r' })).toBe(1);
        expect(await s.webhooks.listDeliveries({})).toEqual([]);
        expect(await s.dropOlderThan(7, now)).toEqual([]);
        await expect(s.dropOlderThan(-1, now)).rejects.toThrow(RangeError);
      } finally {
        await s.close();
        await admin.command({ query: `DROP DATABASE IF EXISTS ${db2}` });
      }
    });
  });

  describe('health', () => {
    it('reports ok with SELECT 1 against a live server', async () => {
      expect(await store.health()).toEqual({ name: 'clickhouse', ok: true, detail: 'SELECT 1 ok' });
    });

    it('reports not ok with the reason when the server is unreachable', async () => {
      const down = new ClickHouseStore({ url: 'http://127.0.0.1:1', user: 'default', password: '', database: 'x', healthTimeoutMs: 500 });
      try {
        const h = await down.health();
        expect(h).toMatchObject({ name: 'clickhouse', ok: false });
        expect(h.detail).toMatch(/ECONNREFUSED|connect|abort|timeout/i);
      } finally {
        await down.close();
      }
    });
  });

});
