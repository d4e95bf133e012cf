import { createHash } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { jest } from '@jest/globals';
import type { AccessEvent, Anomaly, DeadLetter, Incident } from '@vigil/contracts';
import { ManualClock, type ApiKeyRecord, type WebhookDelivery, type WebhookSubscription } from '@vigil/platform';
import { ClickHouseDb } from '@vigil/platform/clickhouse/clickhouse-db';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { lit, sql } from '@vigil/platform/clickhouse/sql';
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

/**
 * Hostile input through every query path of the ClickHouse store, against the real server: every insert of every
 * repository and every filter (tenant, entity, ids, hashes, cursors…). Each value must be stored verbatim, a filter
 * by it must find exactly its row, and nothing else may execute (the canary table `x` keeps its rows; the set of
 * tables is unchanged).
 */
jest.setTimeout(120_000);

const C0_AND_DEL = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join('') + '\u007f';
const ONE_MIB = (() => {
  const unit = "'\\\u0000\n🚀日本\u202E" + "'; DROP TABLE x; --";
  return unit.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(unit)));
})();

const HOSTILE: [label: string, value: string][] = [
  ['single quote', "'"],
  ['two single quotes', "''"],
  ['backslash', '\\'],
  ['trailing backslash', 'abc\\'],
  ['backslash + quote', "\\'"],
  ['two backslashes + quote', "\\\\'"],
  ['classic injection', "'; DROP TABLE x; --"],
  ['tautology', "x' OR '1'='1"],
  ['double-quote injection', '"; DROP TABLE x; --'],
  ['backticks', '`x`; DROP TABLE `x`'],
  ['comment openers', '-- /* #'],
  ['NUL alone', '\u0000'],
  ['embedded NULs', 'a\u0000b\u0000'],
  ['newlines and tabs', 'line1\nline2\r\nline3\ttab'],
  ['every C0 control and DEL', C0_AND_DEL],
  ['escape look-alikes', '\\x27\\0\\n\\u0027%27&#39;'],
  ['TSV null marker', '\\N'],
  ['the word NULL', 'NULL'],
  ['FORMAT/SETTINGS smuggling', "' FORMAT TSV SETTINGS readonly=0 --"],
  ['JSON text', '{"a":"\\u0000","b":[1,2],"c":"\'"}'],
  ['emoji with ZWJ', '🚀👩‍👩‍👧‍👦'],
  ['CJK', '日本語テキスト中文한국어'],
  ['RTL with override', 'مرحبا\u202Eabc\u202C שלום'],
  ['combining marks', 'e\u0301 a\u0308 Z\u0335\u0321'],
  ['BOM and line separators', '\uFEFF\u2028\u2029\u0085'],
  ['noncharacters and the last code point', '\uFFFE\uFFFF\u{10FFFF}'],
  ['1 MiB mixed payload', ONE_MIB],
];
const VALUES = HOSTILE.map(([, v]) => v);
const label = (v: string): string => HOSTILE.find(([, h]) => h === v)?.[0] ?? '?';
const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const absent = (h: string): string => `${h}\u0001absent`;
/**
 * For fields no filter reads: the value itself, but the first 4 KiB of the 1 MiB payload, which keeps rows of a few
 * MiB instead of ~15 MiB (a loaded 2-core box otherwise needs minutes). Every filtered field carries the full MiB.
 */
const payload = (h: string): string => (h.length > 65_536 ? h.slice(0, 4096) : h);

/** Canonical JSON (sorted keys), so equal records compare equal whatever order their keys were built in. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
/** Deep equality; megabyte values are compared by length and digest so a failure never makes Jest diff megabytes. */
function expectSame(actual: unknown, expected: unknown): void {
  const e = canonical(expected);
  if (e.length < 100_000) {
    expect(actual).toEqual(expected);
    return;
  }
  const a = canonical(actual);
  const digest = (x: string) => ({ length: x.length, sha256: createHash('sha256').update(x).digest('hex'), head: x.slice(0, 200) });
  expect(digest(a)).toEqual(digest(e));
}

describe('ClickHouseStore with hostile input', () => {
  const { clickhouseUrl } = testEndpoints();
  const database = uniqueName('vigil_test');
  const clock = new ManualClock(Date.UTC(2024, 2, 10, 12));
  let store: ClickHouseStore;
  let admin: ClickHouseClient;
  let tablesBefore: string[];

  const query = async <T>(q: string): Promise<T[]> => (await admin.query({ query: q, format: 'JSONEachRow' })).json<T>();
  const tables = async (): Promise<string[]> =>
    (await query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`)).map((r) => r.name);
  const canaryRows = async (): Promise<number> => Number((await query<{ n: string | number }>(`SELECT count() AS n FROM ${database}.x`))[0]?.n);

  beforeAll(async () => {
    admin = createClient({ url: clickhouseUrl, username: 'default', password: '' });
    store = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database, clock });
    await store.migrate();
    // The canary is the very table the payloads try to drop.
    await admin.command({ query: `CREATE TABLE ${database}.x (n UInt8) ENGINE = MergeTree() PARTITION BY tuple() ORDER BY n` });
    await admin.command({ query: `INSERT INTO ${database}.x VALUES (1), (2), (3)` });
    tablesBefore = await tables();
  });

  afterAll(async () => {
    await store.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  describe('the escaper against the server', () => {
    it('round-trips every ASCII byte, every UTF-8 length class and the 1 MiB payload exactly, byte for byte', async () => {
      const db = new ClickHouseDb(admin, database);
      const singles = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));
      const bmp = Array.from({ length: 0xd800 - 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('') +
        Array.from({ length: 0x10000 - 0xe000 }, (_, i) => String.fromCharCode(0xe000 + i)).join('');
      const astral = ['\u{10000}', '\u{1F680}', '\u{E0001}', '\u{10FFFF}'].join('');
      const samples = [...singles, bmp, astral, ...VALUES];
      const rows = await db.select(sql`SELECT ${samples} AS v, arrayMap(s -> hex(s), v) AS h`);
      const row = rows[0]!;
      expectSame(row['v'], samples);
      expectSame(row['h'], samples.map((s) => Buffer.from(s, 'utf8').toString('hex').toUpperCase()));
    });

    it('compares a literal equal to the stored value only for the exact same bytes', async () => {
      const db = new ClickHouseDb(admin, database);
      for (const v of VALUES) {
        const rows = await db.select(sql`SELECT ${v} = ${v} AS same, ${v} = ${v + ' '} AS padded, length(${v}) AS bytes`);
        expect(rows[0]).toEqual({ same: 1, padded: 0, bytes: Buffer.byteLength(v) });
      }
    });

    it('keeps negative numbers from opening a -- comment', async () => {
      const db = new ClickHouseDb(admin, database);
      expect(await db.select(sql`SELECT 1-${-1} AS n`)).toEqual([{ n: 2 }]);
    });
  });

  describe('accessEvents', () => {
    const events: AccessEvent[] = VALUES.map((h, i) => ({
      ...anAccessEvent({ ts: Date.UTC(2024, 2, 10, 12) + i }),
      id: h, tenant: h, clientIp: h, tokenId: h, route: h, method: payload(h), path: payload(h), query: payload(h),
      userAgent: payload(h), apiVersion: payload(h), tls: payload(h), country: payload(h), requestId: payload(h), host: payload(h),
    }));
    beforeAll(() => store.accessEvents.insert(events));

    it.each(HOSTILE)('%s: stored verbatim and found by tenant, client ip, token, route and id, exactly once', async (_l, h) => {
      const mine = [events[VALUES.indexOf(h)]];
      expectSame(await store.accessEvents.list({ tenant: h }), mine);
      expectSame(await store.accessEvents.list({ clientIp: h }), mine);
      expectSame(await store.accessEvents.list({ tokenId: h }), mine);
      expectSame(await store.accessEvents.list({ route: h }), mine);
      expectSame(await store.accessEvents.list({ ids: [h, absent(h)] }), mine);
      expect(await store.accessEvents.count({ tenant: h, ids: [h] })).toBe(1);
      expect(await store.accessEvents.count({ tenant: absent(h) })).toBe(0);
    });

    it('finds all of them by an ids list made only of hostile values', async () => {
      expect(await store.accessEvents.count({ ids: VALUES })).toBe(VALUES.length);
    });
  });

  describe('anomalies', () => {
    const anomalies: Anomaly[] = VALUES.map((h) => {
      const base = anAnomaly();
      return {
        ...base, id: h, tenant: h, detector: h, entity: h, metric: payload(h), explanation: payload(h),
        sampleEventIds: [payload(h), `${payload(h)}-2`],
        contributors: { ips: [{ value: payload(h), count: 1 }], paths: [{ value: payload(h), count: 2 }], statuses: [] },
      };
    });
    beforeAll(() => store.anomalies.insert(anomalies));

    it.each(HOSTILE)('%s: stored verbatim and found by id, tenant, detector, entity and ids', async (_l, h) => {
      const mine = anomalies[VALUES.indexOf(h)]!;
      expectSame(await store.anomalies.get(h), mine);
      expectSame(await store.anomalies.list({ tenant: h }), [mine]);
      expectSame(await store.anomalies.list({ detector: h }), [mine]);
      expectSame(await store.anomalies.list({ entityType: mine.entityType, entity: h }), [mine]);
      expectSame(await store.anomalies.list({ ids: [h] }), [mine]);
      expect(await store.anomalies.get(absent(h))).toBeNull();
    });
  });

  describe('incidents', () => {
    const incidents: Incident[] = VALUES.map((h) => ({
      ...anIncident(), id: h, tenant: h, entity: h, detectors: [h], title: payload(h), explanation: payload(h),
      anomalyIds: [payload(h)], related: [{ type: 'token', value: payload(h) }],
      history: [{ at: 1, actor: payload(h), action: 'opened', reason: payload(h) }],
    }));
    const paging: Incident[] = VALUES.map((h) => ({ ...anIncident({ tenant: 'hostile-paging', lastSeen: Date.UTC(2024, 2, 10), firstSeen: 0 }), id: `p${h}` }));
    beforeAll(async () => {
      for (const i of [...incidents, ...paging]) await store.incidents.upsert(i);
    });

    it.each(HOSTILE)('%s: stored verbatim and found by id, tenant, detector and entity', async (_l, h) => {
      const mine = incidents[VALUES.indexOf(h)]!;
      expectSame(await store.incidents.get(h), mine);
      expectSame((await store.incidents.list({ tenant: h })).items, [mine]);
      expectSame((await store.incidents.list({ detector: h })).items, [mine]);
      expectSame((await store.incidents.list({ entityType: mine.entityType, entity: h })).items, [mine]);
    });

    it.each(['asc', 'desc'] as const)('pages through hostile ids (%s) via cursors that carry them, each exactly once in byte order', async (order) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 50; guard++) {
        const page = await store.incidents.list({ tenant: 'hostile-paging', order, limit: 4, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((i) => i.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      const expected = paging.map((i) => i.id).sort(byUtf8);
      expectSame(seen, order === 'asc' ? expected : expected.reverse());
    });
  });

  describe('apiKeys', () => {
    const keys: ApiKeyRecord[] = VALUES.map((h) => ({
      ...anApiKey(), id: h, tenant: h, hash: h, name: payload(h), prefix: payload(h), role: payload(h), scopes: [payload(h)],
      allowedIps: [payload(h), ''],
    }));
    beforeAll(async () => {
      for (const k of keys) await store.apiKeys.put(k);
    });

    it.each(HOSTILE)('%s: stored verbatim and found by id, hash and tenant', async (_l, h) => {
      const mine = keys[VALUES.indexOf(h)]!;
      expectSame(await store.apiKeys.get(h), mine);
      expectSame(await store.apiKeys.findByHash(h), mine);
      expectSame(await store.apiKeys.list(h), [mine]);
      expect(await store.apiKeys.findByHash(absent(h))).toBeNull();
    });
  });

  describe('webhooks', () => {
    const subs: WebhookSubscription[] = VALUES.map((h) => ({ ...aWebhookSubscription(), id: h, tenant: h, url: payload(h), secret: payload(h), events: [payload(h)] }));
    const deliveries: WebhookDelivery[] = VALUES.map((h) => ({ ...aDelivery(), id: h, subscriptionId: h, eventId: h, error: payload(h) }));
    beforeAll(async () => {
      for (const s of subs) await store.webhooks.putSubscription(s);
      for (const d of deliveries) await store.webhooks.recordDelivery(d);
    });

    it.each(HOSTILE)('%s: subscriptions and deliveries stored verbatim and found by id, tenant, subscription and event', async (_l, h) => {
      const i = VALUES.indexOf(h);
      expectSame(await store.webhooks.getSubscription(h), subs[i]);
      expectSame(await store.webhooks.listSubscriptions(h), [subs[i]]);
      expectSame(await store.webhooks.listDeliveries({ subscriptionId: h }), [deliveries[i]]);
      expectSame(await store.webhooks.listDeliveries({ eventId: h, status: deliveries[i]!.status }), [deliveries[i]]);
    });
  });

  describe('deadLetters', () => {
    const letters: DeadLetter[] = VALUES.map((h) => ({ ...aDeadLetter(), id: h, tenant: h, reason: h, source: payload(h), raw: h }));
    beforeAll(() => store.deadLetters.insert(letters));

    it.each(HOSTILE)('%s: stored verbatim, found by tenant, and by reason substring exactly where the bytes contain it', async (_l, h) => {
      const mine = letters[VALUES.indexOf(h)]!;
      expectSame(await store.deadLetters.list({ tenant: h }), [mine]);
      expect(await store.deadLetters.count({ tenant: h })).toBe(1);
      const byReason = await store.deadLetters.list({ reason: h });
      expect(byReason.map((d) => label(d.id)).sort()).toEqual(letters.filter((d) => d.reason.includes(h)).map((d) => label(d.id)).sort());
      expectSame(byReason.find((d) => d.id === h), mine);
    });
  });

  describe('afterwards', () => {
    it('executed nothing else: the canary table still has its rows and the set of tables is unchanged', async () => {
      expect(await canaryRows()).toBe(3);
      expect(await tables()).toEqual(tablesBefore);
      expect(tablesBefore).toEqual(expect.arrayContaining([
        'access_events', 'anomalies', 'api_keys', 'dead_letters', 'incidents', 'schema_migrations', 'webhook_deliveries',
        'webhook_subscriptions', 'x',
      ]));
    });

    it('rejects values it cannot encode instead of sending them', () => {
      expect(() => lit('\ud800')).toThrow(/surrogate/);
      expect(() => lit(Number.NaN)).toThrow(/finite/);
    });
  });
});
