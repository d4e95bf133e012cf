import type { afterEach as AfterEach, beforeEach as BeforeEach, describe as Describe, expect as Expect, it as It } from '@jest/globals';
import type { AccessEvent, Anomaly, DeadLetter, Incident, Silence, StreamEventRecord } from '@vigil/contracts';
import type { AccessEventFilter, AnomalyFilter, IncidentFilter, Store } from '@vigil/platform';
import { aDeadLetter, aDelivery, anAccessEvent, anAnomaly, anApiKey, anIncident, aWebhookSubscription } from '../factories.js';

/**
 * The behaviour every Store adapter (SQLite, ClickHouse) must show. Call it from an integration spec:
 *
 *   storeContract('sqlite', async () => new SqliteStore({ path: join(tmp, uniqueName('s'), 'vigil.sqlite') }));
 *
 * `makeStore` must return a fresh, EMPTY and NOT yet migrated store; it is called before every test,
 * the suite migrates it, and closes it after the test.
 *
 * Semantics pinned here (adapters must agree, callers may rely on them):
 * - time ranges are half-open [from, to) on: access events `ts`, anomalies `detectedAt`,
 *   dead letters `receivedAt`; incidents match when active in the range (lastSeen >= from, firstSeen < to);
 * - time-series lists (events, anomalies, deliveries, dead letters) are newest first, ties by id ascending,
 *   and `limit` keeps the newest; `ids: []` matches nothing;
 * - incidents page by (lastSeen, id): desc (default) or asc, `nextCursor` null on the last page;
 * - api keys and subscriptions list oldest first (createdAt, id); deleted subscriptions are not listed but
 *   `getSubscription` still returns them with `deleted: true`;
 * - dead letter `reason` filter is a case-sensitive substring match;
 * - `dropOlderThan(days, now)` removes time-series rows before the UTC day (day of `now`) − `days` and returns
 *   the distinct `YYYYMMDD` days removed, ascending; incidents, keys and subscriptions are not touched.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  const { describe, it, expect, beforeEach, afterEach } = jestGlobals();
  const DAY = 86_400_000;
  const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
  const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id);

  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let appliedOnFirstMigrate: string[];

    beforeEach(async () => {
      store = await makeStore();
      appliedOnFirstMigrate = await store.migrate();
    });
    afterEach(async () => {
      await store?.close();
    });

    describe('migrate', () => {
      it('applies 0001_init on an empty store and nothing when run again', async () => {
        expect(appliedOnFirstMigrate[0]).toBe('0001_init');
        expect(await store.migrate()).toEqual([]);
      });

      it('keeps existing rows when run again', async () => {
        await store.accessEvents.insert([anAccessEvent(), anAccessEvent()]);
        await store.migrate();
        expect(await store.accessEvents.count({})).toBe(2);
      });
    });

    describe('health', () => {
      it('reports the adapter as healthy', async () => {
        expect(await store.health()).toEqual(expect.objectContaining({ name: store.kind, ok: true }));
      });
    });

    describe('accessEvents', () => {
      it('returns every field of inserted events unchanged, including floats and byte counts up to 2^40', async () => {
        const full = anAccessEvent({
          latencyMs: 0.1 + 0.2,
          bytesIn: 2 ** 40,
          bytesOut: 2 ** 40 - 1,
          asn: 4_294_967_295,
          ts: 1_999_999_999_999,
          path: "/v1/users/o'brien/\"quoted\"",
          query: 'q=%E2%98%83&sort=-created',
          userAgent: 'Vigil-Test/1.0 ☃ 🚀 (\\backslash\\)',
          status: 599,
        });
        const sparse = anAccessEvent({ format: 'nginx', query: '', tokenId: '', country: '', asn: 0, tls: '', apiVersion: '', requestId: '', host: '', latencyMs: 0, bytesIn: 0, bytesOut: 0 });
        await store.accessEvents.insert([full, sparse]);

        expect(await store.accessEvents.list({ ids: [full.id] })).toEqual([full]);
        expect(await store.accessEvents.list({ ids: [sparse.id] })).toEqual([sparse]);
      });

      it('stores an id once when it is inserted twice in one batch and again in a later batch', async () => {
        const [a, b, c] = [anAccessEvent(), anAccessEvent(), anAccessEvent()];
        await store.accessEvents.insert([a!, a!, b!]);
        await store.accessEvents.insert([a!, c!]);

        expect(await store.accessEvents.count({})).toBe(3);
        expect(ids(await store.accessEvents.list({})).sort()).toEqual([a!.id, b!.id, c!.id].sort());
      });

      it('accepts an empty batch', async () => {
        await store.accessEvents.insert([]);
        expect(await store.accessEvents.count({})).toBe(0);
      });

      describe('filters', () => {
        const dataset = (): AccessEvent[] => [
          anAccessEvent({ id: 'ae-1', tenant: 'acme', ts: T0, clientIp: '198.51.100.1', tokenId: 'k1', route: '/v1/orders/:id' }),
          anAccessEvent({ id: 'ae-2', tenant: 'acme', ts: T0 + 1000, clientIp: '198.51.100.2', tokenId: 'k1', route: '/v1/login' }),
          anAccessEvent({ id: 'ae-3', tenant: 'acme', ts: T0 + 2000, clientIp: '198.51.100.1', tokenId: '', route: '/v1/orders/:id' }),
          anAccessEvent({ id: 'ae-4', tenant: 'acme', ts: T0 + 3000, clientIp: '198.51.100.1', tokenId: 'k2', route: '/v1/login' }),
          anAccessEvent({ id: 'ae-5', tenant: 'globex', ts: T0 + 1000, clientIp: '198.51.100.1', tokenId: 'k1', route: '/v1/orders/:id' }),
        ];
        const cases: [string, AccessEventFilter, string[]][] = [
          ['no filter (newest first, ties by id)', {}, ['ae-4', 'ae-3', 'ae-2', 'ae-5', 'ae-1']],
          ['tenant', { tenant: 'acme' }, ['ae-4', 'ae-3', 'ae-2', 'ae-1']],
          ['other tenant', { tenant: 'globex' }, ['ae-5']],
          ['time range [from, to)', { tenant: 'acme', from: T0 + 1000, to: T0 + 3000 }, ['ae-3', 'ae-2']],
          ['from only', { from: T0 + 2000 }, ['ae-4', 'ae-3']],
          ['to only', { to: T0 + 1000 }, ['ae-1']],
          ['client ip', { tenant: 'acme', clientIp: '198.51.100.1' }, ['ae-4', 'ae-3', 'ae-1']],
          ['token', { tokenId: 'k1' }, ['ae-2', 'ae-5', 'ae-1']],
          ['anonymous token', { tokenId: '' }, ['ae-3']],
          ['route', { route: '/v1/login' }, ['ae-4', 'ae-2']],
          ['ids (unknown ids ignored)', { ids: ['ae-1', 'ae-3', 'nope'] }, ['ae-3', 'ae-1']],
          ['empty ids', { ids: [] }, []],
          ['combined', { tenant: 'acme', clientIp: '198.51.100.1', route: '/v1/orders/:id', from: T0 + 1 }, ['ae-3']],
          ['nothing matches', { tenant: 'initech' }, []],
        ];

        it.each(cases)('%s: list and count return exactly the matching events', async (_label, filter, expected) => {
          await store.accessEvents.insert(dataset());
          expect(ids(await store.accessEvents.list(filter))).toEqual(expected);
          expect(await store.accessEvents.count(filter)).toBe(expected.length);
        });

        it('limit keeps the newest events and count ignores it', async () => {
          await store.accessEvents.insert(dataset());
          expect(ids(await store.accessEvents.list({ tenant: 'acme', limit: 2 }))).toEqual(['ae-4', 'ae-3']);
          expect(await store.accessEvents.count({ tenant: 'acme', limit: 2 })).toBe(4);
        });
      });
    });

    describe('anomalies', () => {
      it('returns every field unchanged from get and list', async () => {
        const a = anAnomaly({ early: true, observed: 1e-9, expected: -3.5, lower: -1234.5678, upper: 9_007_199_254_740_991, score: 0.123456789, severity: 'critical' });
        const b = anAnomaly({ early: false, contributors: { ips: [], paths: [], statuses: [] }, sampleEventIds: [], explanation: '' });
        await store.anomalies.insert([a, b]);

        expect(await store.anomalies.get(a.id)).toEqual(a);
        expect(await store.anomalies.get(b.id)).toEqual(b);
        expect(await store.anomalies.list({ ids: [a.id] })).toEqual([a]);
      });

      it('returns null for an unknown id', async () => {
        expect(await store.anomalies.get('anm-missing')).toBeNull();
      });

      it('stores an id once when it is inserted twice in one batch and again in a later batch', async () => {
        const a = anAnomaly();
        const b = anAnomaly();
        await store.anomalies.insert([a, a]);
        await store.anomalies.insert([b, a]);
        expect(ids(await store.anomalies.list({})).sort()).toEqual([a.id, b.id].sort());
      });

      describe('filters', () => {
        const dataset = (): Anomaly[] => [
          anAnomaly({ id: 'an-1', tenant: 'acme', detectedAt: T0, detector: 'rate-zscore', entityType: 'ip', entity: '198.51.100.1', severity: 'low' }),
          anAnomaly({ id: 'an-2', tenant: 'acme', detectedAt: T0 + 1000, detector: 'error-ratio', entityType: 'endpoint', entity: 'POST /v1/login', severity: 'high' }),
          anAnomaly({ id: 'an-3', tenant: 'acme', detectedAt: T0 + 2000, detector: 'rate-zscore', entityType: 'token', entity: 'k1', severity: 'critical' }),
          anAnomaly({ id: 'an-4', tenant: 'acme', detectedAt: T0 + 3000, detector: 'rate-zscore', entityType: 'ip', entity: '198.51.100.2', severity: 'medium' }),
          anAnomaly({ id: 'an-5', tenant: 'globex', detectedAt: T0 + 1000, detector: 'rate-zscore', entityType: 'ip', entity: '198.51.100.1', severity: 'critical' }),
        ];
        const cases: [string, AnomalyFilter, string[]][] = [
          ['no filter (newest first, ties by id)', {}, ['an-4', 'an-3', 'an-2', 'an-5', 'an-1']],
          ['tenant', { tenant: 'globex' }, ['an-5']],
          ['detector', { tenant: 'acme', detector: 'rate-zscore' }, ['an-4', 'an-3', 'an-1']],
          ['entity type', { entityType: 'ip' }, ['an-4', 'an-5', 'an-1']],
          ['entity', { entityType: 'ip', entity: '198.51.100.1' }, ['an-5', 'an-1']],
          ['severity at least high', { tenant: 'acme', minSeverity: 'high' }, ['an-3', 'an-2']],
          ['severity at least low', { tenant: 'acme', minSeverity: 'low' }, ['an-4', 'an-3', 'an-2', 'an-1']],
          ['severity at least critical', { minSeverity: 'critical' }, ['an-3', 'an-5']],
          ['detectedAt in [from, to)', { from: T0 + 1000, to: T0 + 3000 }, ['an-3', 'an-2', 'an-5']],
          ['ids', { ids: ['an-2', 'an-5', 'nope'] }, ['an-2', 'an-5']],
          ['empty ids', { ids: [] }, []],
          ['limit keeps the newest', { tenant: 'acme', limit: 2 }, ['an-4', 'an-3']],
        ];

        it.each(cases)('%s: returns exactly the matching anomalies', async (_label, filter, expected) => {
          await store.anomalies.insert(dataset());
          expect(ids(await store.anomalies.list(filter))).toEqual(expected);
        });
      });
    });

    describe('incidents', () => {
      it('returns every field unchanged from get and list', async () => {
        const i = anIncident({
          status: 'resolved',
          severity: 'critical',
          maxScore: 0.999999,
          resolvedAt: T0 + 3_600_000,
          revision: 7,
          history: [
            { at: T0, actor: 'system', action: 'opened', reason: 'rate-zscore 0.97' },
            { at: T0 + 60_000, actor: 'user:alice@acme.example', action: 'acknowledged', reason: 'looking — "ticket" #42' },
            { at: T0 + 3_600_000, actor: 'system', action: 'auto_resolved', reason: 'quiet for 30 min' },
          ],
        });
        await store.incidents.upsert(i);

        expect(await store.incidents.get(i.id)).toEqual(i);
        expect((await store.incidents.list({})).items).toEqual([i]);
      });

      it('returns null for an unknown id', async () => {
        expect(await store.incidents.get('inc-missing')).toBeNull();
      });

      it('replaces an incident with a higher revision and ignores a lower one', async () => {
        const v1 = anIncident({ status: 'open', revision: 1 });
        const v3 = { ...v1, status: 'acknowledged' as const, anomalyCount: 5, lastSeen: v1.lastSeen + 60_000, updatedAt: v1.updatedAt + 60_000, revision: 3 };
        const v2 = { ...v1, status: 'resolved' as const, resolvedAt: v1.lastSeen, revision: 2 };

        await store.incidents.upsert(v1);
        await store.incidents.upsert(v3);
        await store.incidents.upsert(v2);

        expect(await store.incidents.get(v1.id)).toEqual(v3);
        expect((await store.incidents.list({})).items).toEqual([v3]);
        expect((await store.incidents.list({ status: 'resolved' })).items).toEqual([]);
        expect(ids((await store.incidents.list({ status: 'acknowledged' })).items)).toEqual([v1.id]);
      });

      describe('filters', () => {
        const dataset = (): Incident[] => [
          anIncident({ id: 'in-1', tenant: 'acme', status: 'open', severity: 'low', detectors: ['rate-zscore'], entityType: 'ip', entity: '198.51.100.1', firstSeen: T0, lastSeen: T0 + 30 * 60_000 }),
          anIncident({ id: 'in-2', tenant: 'acme', status: 'resolved', severity: 'high', detectors: ['error-ratio', 'new-country'], entityType: 'token', entity: 'k1', firstSeen: T0 + 60 * 60_000, lastSeen: T0 + 70 * 60_000, resolvedAt: T0 + 80 * 60_000 }),
          anIncident({ id: 'in-3', tenant: 'acme', status: 'acknowledged', severity: 'critical', detectors: ['rate-zscore', 'error-ratio'], entityType: 'ip', entity: '198.51.100.2', firstSeen: T0 - 60 * 60_000, lastSeen: T0 + 120 * 60_000 }),
          anIncident({ id: 'in-4', tenant: 'globex', status: 'open', severity: 'medium', detectors: ['rate-zscore'], entityType: 'ip', entity: '198.51.100.1', firstSeen: T0, lastSeen: T0 + 10 * 60_000 }),
        ];
        const cases: [string, IncidentFilter, string[]][] = [
          ['no filter (latest activity first)', {}, ['in-3', 'in-2', 'in-1', 'in-4']],
          ['tenant', { tenant: 'acme' }, ['in-3', 'in-2', 'in-1']],
          ['status', { status: 'open' }, ['in-1', 'in-4']],
          ['severity at least high', { minSeverity: 'high' }, ['in-3', 'in-2']],
          ['severity at least medium', { minSeverity: 'medium' }, ['in-3', 'in-2', 'in-4']],
          ['detector among the incident detectors', { detector: 'error-ratio' }, ['in-3', 'in-2']],
          ['detector matches whole names only', { detector: 'error' }, []],
          ['entity type', { entityType: 'ip' }, ['in-3', 'in-1', 'in-4']],
          ['entity', { tenant: 'acme', entityType: 'ip', entity: '198.51.100.1' }, ['in-1']],
          ['active during [from, to)', { from: T0 + 50 * 60_000, to: T0 + 65 * 60_000 }, ['in-3', 'in-2']],
          ['active until the end of the range only', { to: T0 + 60 * 60_000 }, ['in-3', 'in-1', 'in-4']],
          ['ascending order', { tenant: 'acme', order: 'asc' }, ['in-1', 'in-2', 'in-3']],
          ['limit', { limit: 2 }, ['in-3', 'in-2']],
        ];

        it.each(cases)('%s: returns exactly the matching incidents', async (_label, filter, expected) => {
          for (const i of dataset()) await store.incidents.upsert(i);
          expect(ids((await store.incidents.list(filter)).items)).toEqual(expected);
        });
      });

      describe('cursor pagination', () => {
        /** 25 incidents of one tenant whose lastSeen values tie in groups of four, inserted out of order, plus noise. */
        async function seed(count: number): Promise<Incident[]> {
          const mine = Array.from({ length: count }, (_, k) =>
            anIncident({ id: `pg-${String((k * 7) % count).padStart(2, '0')}`, tenant: 'acme', firstSeen: T0, lastSeen: T0 + Math.floor(k / 4) * 60_000 }),
          );
          const noise = Array.from({ length: 6 }, (_, k) => anIncident({ id: `pg-${k}-other`, tenant: 'globex', firstSeen: T0, lastSeen: T0 + k * 60_000 }));
          for (const i of [...mine].reverse().concat(noise)) await store.incidents.upsert(i);
          return mine;
        }
        const byLastSeenThenId = (a: Incident, b: Incident): number => a.lastSeen - b.lastSeen || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

        async function allPages(filter: IncidentFilter): Promise<{ seen: string[]; sizes: number[] }> {
          const seen: string[] = [];
          const sizes: number[] = [];
          let cursor: string | undefined;
          for (let guard = 0; guard < 10; guard += 1) {
            const page = await store.incidents.list({ ...filter, ...(cursor === undefined ? {} : { cursor }) });
            seen.push(...ids(page.items));
            sizes.push(page.items.length);
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          return { seen, sizes };
        }

        it.each(['asc', 'desc'] as const)('returns each of 25 incidents exactly once, in %s order, in pages of 10', async (order) => {
          const mine = await seed(25);
          const expected = ids([...mine].sort(byLastSeenThenId));
          if (order === 'desc') expected.reverse();

          const { seen, sizes } = await allPages({ tenant: 'acme', order, limit: 10 });

          expect(sizes).toEqual([10, 10, 5]);
          expect(seen).toEqual(expected);
        });

        it('ends with a null cursor when the last page is exactly full', async () => {
          await seed(20);
          const { sizes } = await allPages({ tenant: 'acme', limit: 10 });
          expect(sizes).toEqual([10, 10]);
        });

        it('rejects a cursor it did not issue', async () => {
          await seed(3);
          await expect(store.incidents.list({ cursor: 'definitely-not-a-cursor' })).rejects.toThrow();
        });
      });
    });

    describe('apiKeys', () => {
      it('returns every field unchanged from get, findByHash and list', async () => {
        const k = anApiKey({ lastUsedAt: T0 + 5000, expiresAt: null, scopes: ['admin'], allowedIps: [] });
        await store.apiKeys.put(k);

        expect(await store.apiKeys.get(k.id)).toEqual(k);
        expect(await store.apiKeys.findByHash(k.hash)).toEqual(k);
        expect(await store.apiKeys.list()).toEqual([k]);
      });

      it('returns null for an unknown id or hash', async () => {
        await store.apiKeys.put(anApiKey());
        expect(await store.apiKeys.get('key-missing')).toBeNull();
        expect(await store.apiKeys.findByHash('0'.repeat(64))).toBeNull();
      });

      it('lists the keys of one tenant, or of all tenants, oldest first', async () => {
        const a = anApiKey({ tenant: 'acme', createdAt: T0 + 2000 });
        const b = anApiKey({ tenant: 'globex', createdAt: T0 + 1000 });
        const c = anApiKey({ tenant: 'acme', createdAt: T0 });
        for (const k of [a, b, c]) await store.apiKeys.put(k);

        expect(ids(await store.apiKeys.list('acme'))).toEqual([c.id, a.id]);
        expect(ids(await store.apiKeys.list())).toEqual([c.id, b.id, a.id]);
      });

      it('replaces a key with a revoked, newer version and ignores a stale one', async () => {
        const k = anApiKey();
        const revoked = { ...k, revokedAt: k.updatedAt + 10_000, updatedAt: k.updatedAt + 10_000 };
        const staleUse = { ...k, lastUsedAt: k.updatedAt + 5000, updatedAt: k.updatedAt + 5000 };

        await store.apiKeys.put(k);
        await store.apiKeys.put(revoked);
        await store.apiKeys.put(staleUse);

        expect(await store.apiKeys.get(k.id)).toEqual(revoked);
        expect(await store.apiKeys.findByHash(k.hash)).toEqual(revoked);
        expect(await store.apiKeys.list(k.tenant)).toEqual([revoked]);
      });
    });

    describe('webhooks', () => {
      it('returns every field of a subscription unchanged', async () => {
        const s = aWebhookSubscription({ events: [], minSeverity: 'critical', enabled: false });
        await store.webhooks.putSubscription(s);

        expect(await store.webhooks.getSubscription(s.id)).toEqual(s);
        expect(await store.webhooks.listSubscriptions(s.tenant)).toEqual([s]);
        expect(await store.webhooks.getSubscription('whs-missing')).toBeNull();
      });

      it('lists the subscriptions of one tenant, or of all tenants, oldest first', async () => {
        const a = aWebhookSubscription({ tenant: 'acme', createdAt: T0 + 1000 });
        const b = aWebhookSubscription({ tenant: 'globex', createdAt: T0 + 2000 });
        const c = aWebhookSubscription({ tenant: 'acme', createdAt: T0 });
        for (const s of [a, b, c]) await store.webhooks.putSubscription(s);

        expect(ids(await store.webhooks.listSubscriptions('acme'))).toEqual([c.id, a.id]);
        expect(ids(await store.webhooks.listSubscriptions())).toEqual([c.id, a.id, b.id]);
      });

      it('keeps the newest version of an updated subscription', async () => {
        const s = aWebhookSubscription();
        const updated = { ...s, url: 'https://hooks.acme.example/v2', events: ['incident.opened'], enabled: false, updatedAt: s.updatedAt + 1000 };
        const stale = { ...s, url: 'https://stale.example/', updatedAt: s.updatedAt + 500 };

        await store.webhooks.putSubscription(s);
        await store.webhooks.putSubscription(updated);
        await store.webhooks.putSubscription(stale);

        expect(await store.webhooks.getSubscription(s.id)).toEqual(updated);
        expect(await store.webhooks.listSubscriptions(s.tenant)).toEqual([updated]);
      });

      it('hides a soft-deleted subscription from the list but still returns it by id', async () => {
        const kept = aWebhookSubscription();
        const s = aWebhookSubscription();
        const deleted = { ...s, deleted: true, enabled: false, updatedAt: s.updatedAt + 1000 };
        await store.webhooks.putSubscription(kept);
        await store.webhooks.putSubscription(s);
        await store.webhooks.putSubscription(deleted);

        expect(ids(await store.webhooks.listSubscriptions())).toEqual([kept.id]);
        expect(await store.webhooks.getSubscription(s.id)).toEqual(deleted);
      });

      it('records a delivery once per id with every field unchanged', async () => {
        const d = aDelivery({ status: 'failed', httpStatus: 503, error: 'Service Unavailable: "retry later"', durationMs: 2999.875, attempt: 3 });
        await store.webhooks.recordDelivery(d);
        await store.webhooks.recordDelivery(d);

        expect(await store.webhooks.listDeliveries({})).toEqual([d]);
      });

      it('records a batch of deliveries in one call, hostile strings unchanged, each id once', async () => {
        const batch = [
          aDelivery({ id: 'b-1', at: T0, status: 'failed', httpStatus: 500, error: `quote ' "dq" back\\slash\ttab\nnewline \u0000nul é 🚨` }),
          aDelivery({ id: 'b-2', at: T0 + 1000, status: 'dead', httpStatus: 0, error: "'); DROP TABLE webhook_deliveries; --", eventId: 'evt\twith\ttabs' }),
          aDelivery({ id: 'b-3', at: T0 + 2000, durationMs: 0.25, attempt: 7 }),
        ];
        await store.webhooks.recordDeliveries(batch);
        await store.webhooks.recordDeliveries([batch[0]!]);
        await store.webhooks.recordDeliveries([]);

        expect(await store.webhooks.listDeliveries({})).toEqual([...batch].reverse());
      });

      it('writes nothing for an empty batch', async () => {
        await store.webhooks.recordDeliveries([]);

        expect(await store.webhooks.listDeliveries({})).toEqual([]);
      });

      it.each([
        ['subscription', { subscriptionId: 'whs-a' }, ['d-4', 'd-3', 'd-1']],
        ['event', { eventId: 'msg-1' }, ['d-2', 'd-1']],
        ['status', { status: 'dead' as const }, ['d-4']],
        ['subscription and status', { subscriptionId: 'whs-a', status: 'failed' as const }, ['d-1']],
        ['limit keeps the newest', { limit: 2 }, ['d-4', 'd-3']],
        ['nothing matches', { subscriptionId: 'whs-none' }, []],
      ])('%s: returns exactly the matching deliveries, newest first', async (_label, filter, expected) => {
        await store.webhooks.recordDelivery(aDelivery({ id: 'd-1', subscriptionId: 'whs-a', eventId: 'msg-1', status: 'failed', at: T0 }));
        await store.webhooks.recordDelivery(aDelivery({ id: 'd-2', subscriptionId: 'whs-b', eventId: 'msg-1', status: 'succeeded', at: T0 + 1000 }));
        await store.webhooks.recordDelivery(aDelivery({ id: 'd-3', subscriptionId: 'whs-a', eventId: 'msg-2', status: 'succeeded', at: T0 + 2000 }));
        await store.webhooks.recordDelivery(aDelivery({ id: 'd-4', subscriptionId: 'whs-a', eventId: 'msg-3', status: 'dead', at: T0 + 3000 }));

        expect(ids(await store.webhooks.listDeliveries(filter))).toEqual(expected);
      });
    });

    describe('deadLetters', () => {
      const dataset = (): DeadLetter[] => [
        aDeadLetter({ id: 'dl-1', tenant: 'acme', receivedAt: T0, reason: 'status: Too big: expected number to be <=599' }),
        aDeadLetter({ id: 'dl-2', tenant: 'acme', receivedAt: T0 + 1000, reason: 'invalid JSON at position 12' }),
        aDeadLetter({ id: 'dl-3', tenant: 'acme', receivedAt: T0 + 2000, reason: 'unknown format' }),
        aDeadLetter({ id: 'dl-4', tenant: 'globex', receivedAt: T0 + 1000, reason: 'invalid JSON at position 3' }),
      ];

      it('returns every field unchanged and stores an id once', async () => {
        const d = aDeadLetter({ raw: '{"truncated": "\u0000\u00e9\ud83d\ude80' + 'x'.repeat(10_000), source: 'http:req-42#7' });
        await store.deadLetters.insert([d, d]);
        await store.deadLetters.insert([d]);

        expect(await store.deadLetters.list({})).toEqual([d]);
        expect(await store.deadLetters.count({})).toBe(1);
      });

      it.each([
        ['tenant', { tenant: 'acme' }, ['dl-3', 'dl-2', 'dl-1']],
        ['time range [from, to)', { from: T0 + 1000, to: T0 + 2000 }, ['dl-2', 'dl-4']],
        ['reason substring', { reason: 'invalid JSON' }, ['dl-2', 'dl-4']],
        ['reason is case-sensitive', { reason: 'INVALID json' }, []],
        ['limit keeps the newest', { tenant: 'acme', limit: 1 }, ['dl-3']],
      ])('%s: returns exactly the matching dead letters, newest first', async (_label, filter, expected) => {
        await store.deadLetters.insert(dataset());
        expect(ids(await store.deadLetters.list(filter))).toEqual(expected);
      });

      it('counts dead letters by tenant and time range', async () => {
        await store.deadLetters.insert(dataset());
        expect(await store.deadLetters.count({})).toBe(4);
        expect(await store.deadLetters.count({ tenant: 'acme' })).toBe(3);
        expect(await store.deadLetters.count({ tenant: 'acme', from: T0 + 1000 })).toBe(2);
        expect(await store.deadLetters.count({ to: T0 + 1000 })).toBe(1);
      });
    });

    describe('silences', () => {
      const silence = (o: Partial<Silence>): Silence => ({
        v: 1, id: 'sil-1', tenant: 'acme', kind: 'silence', matchers: [{ field: 'entity', value: "203.0.113.*" }], startsAt: T0, endsAt: T0 + 3_600_000,
        reason: "maintenance of o'brien's gateway", createdBy: 'key-1', createdAt: T0, updatedAt: T0, deleted: false, ...o,
      });

      it('keeps the highest updatedAt, lists in force / ending later, and hides deleted ones from lists only', async () => {
        await store.silences.put(silence({ id: 's1', updatedAt: T0 + 5, reason: 'newer' }));
        await store.silences.put(silence({ id: 's1', updatedAt: T0 + 1, reason: 'older' }));
        await store.silences.put(silence({ id: 's2', tenant: 'globex', startsAt: T0 + 7_200_000, endsAt: T0 + 9_000_000 }));
        await store.silences.put(silence({ id: 's3', deleted: true, updatedAt: T0 + 2 }));
        expect(await store.silences.get('s1')).toEqual(silence({ id: 's1', updatedAt: T0 + 5, reason: 'newer' }));
        expect((await store.silences.get('s3'))?.deleted).toBe(true);
        expect(ids(await store.silences.list({}))).toEqual(['s1', 's2']);
        expect(ids(await store.silences.list({ activeAt: T0 + 60_000 }))).toEqual(['s1']);
        expect(ids(await store.silences.list({ activeAt: T0 + 3_600_000 }))).toEqual([]);
        expect(ids(await store.silences.list({ endsAfter: T0 + 3_600_000 }))).toEqual(['s2']);
        expect(ids(await store.silences.list({ tenant: 'globex' }))).toEqual(['s2']);
      });
    });

    describe('streamEvents', () => {
      const ev = (eventId: string, tenant = 'acme'): StreamEventRecord => ({
        eventId, tenant, type: 'incident.opened', at: T0, severity: 'high', entityType: 'ip', entity: '203.0.113.7', payload: JSON.stringify({ eventId, quote: "it's" }),
      });

      it('lists events after an id in id order, once each, per tenant', async () => {
        await store.streamEvents.append([ev('0001-b'), ev('0001-a'), ev('0002-a', 'globex')]);
        await store.streamEvents.append([ev('0001-b'), ev('0003-a')]);
        expect((await store.streamEvents.listAfter({ tenant: 'acme' })).map((e) => e.eventId)).toEqual(['0001-a', '0001-b', '0003-a']);
        expect(await store.streamEvents.listAfter({ tenant: 'acme', afterEventId: '0001-a', limit: 1 })).toEqual([ev('0001-b')]);
        expect((await store.streamEvents.listAfter({ afterEventId: '0001-b' })).map((e) => e.eventId)).toEqual(['0002-a', '0003-a']);
      });
    });

    describe('stats.topEntities', () => {
      it('ranks entities of one type by anomaly count in [from, to), counting a redelivered anomaly once', async () => {
        const a1 = anAnomaly({ entity: '198.51.100.1', detectedAt: T0, severity: 'medium', score: 0.7 });
        await store.anomalies.insert([
          a1, a1,
          anAnomaly({ entity: '198.51.100.1', detectedAt: T0 + 10, severity: 'critical', score: 0.99 }),
          anAnomaly({ entity: '198.51.100.2', detectedAt: T0 + 20 }),
          anAnomaly({ entity: '198.51.100.3', detectedAt: T0 + 1000 }),
          anAnomaly({ entityType: 'token', entity: 'tok', detectedAt: T0 }),
        ]);
        expect(await store.stats.topEntities({ tenant: 'acme', entityType: 'ip', from: T0, to: T0 + 1000 })).toEqual([
          { entityType: 'ip', entity: '198.51.100.1', anomalies: 2, maxScore: 0.99, maxSeverity: 'critical', lastDetectedAt: T0 + 10 },
          { entityType: 'ip', entity: '198.51.100.2', anomalies: 1, maxScore: 0.97, maxSeverity: 'high', lastDetectedAt: T0 + 20 },
        ]);
        expect((await store.stats.topEntities({ entityType: 'ip', limit: 1 })).map((e) => e.entity)).toEqual(['198.51.100.1']);
      });
    });

    describe('dropOlderThan', () => {
      // now = 2024-03-10T15:00Z, keep 7 days: everything from 2024-03-03T00:00Z stays.
      const now = Date.UTC(2024, 2, 10, 15, 0, 0);
      const cutoff = Date.UTC(2024, 2, 3);

      async function seed(): Promise<void> {
        await store.accessEvents.insert([
          anAccessEvent({ id: 'old-1', ts: Date.UTC(2024, 1, 28, 10) }),
          anAccessEvent({ id: 'old-2', ts: cutoff - 1 }),
          anAccessEvent({ id: 'keep-1', ts: cutoff }),
          anAccessEvent({ id: 'keep-2', ts: now - 3_600_000 }),
        ]);
        await store.anomalies.insert([anAnomaly({ id: 'old-a', detectedAt: Date.UTC(2024, 2, 1, 12) }), anAnomaly({ id: 'keep-a', detectedAt: Date.UTC(2024, 2, 5) })]);
        await store.webhooks.recordDelivery(aDelivery({ id: 'old-d', at: Date.UTC(2024, 1, 29, 8) }));
        await store.webhooks.recordDelivery(aDelivery({ id: 'keep-d', at: Date.UTC(2024, 2, 9) }));
        await store.deadLetters.insert([aDeadLetter({ id: 'old-dl', receivedAt: Date.UTC(2024, 2, 2, 23) }), aDeadLetter({ id: 'keep-dl', receivedAt: now })]);
        await store.incidents.upsert(anIncident({ id: 'inc-old', firstSeen: Date.UTC(2024, 0, 1), lastSeen: Date.UTC(2024, 0, 2) }));
        await store.apiKeys.put(anApiKey({ id: 'key-old', createdAt: Date.UTC(2023, 0, 1) }));
        await store.webhooks.putSubscription(aWebhookSubscription({ id: 'whs-old', createdAt: Date.UTC(2023, 0, 1) }));
      }

      it('removes the UTC days before the cutoff and returns their labels', async () => {
        await seed();
        expect(await store.dropOlderThan(7, now)).toEqual(['20240228', '20240229', '20240301', '20240302']);

        expect(ids(await store.accessEvents.list({})).sort()).toEqual(['keep-1', 'keep-2']);
        expect(ids(await store.anomalies.list({}))).toEqual(['keep-a']);
        expect(ids(await store.webhooks.listDeliveries({}))).toEqual(['keep-d']);
        expect(ids(await store.deadLetters.list({}))).toEqual(['keep-dl']);
      });

      it('leaves incidents, api keys and subscriptions alone', async () => {
        await seed();
        await store.dropOlderThan(7, now);

        expect(await store.incidents.get('inc-old')).not.toBeNull();
        expect(await store.apiKeys.get('key-old')).not.toBeNull();
        expect(await store.webhooks.getSubscription('whs-old')).not.toBeNull();
      });

      it('removes nothing when run again', async () => {
        await seed();
        await store.dropOlderThan(7, now);
        expect(await store.dropOlderThan(7, now)).toEqual([]);
        expect(await store.accessEvents.count({})).toBe(2);
      });
    });

    describe('incidents of a batch', () => {
      it('upsertMany writes every incident at once, the higher revision winning as with upsert', async () => {
        const a = anIncident({ id: 'in-a', tenant: 'acme', revision: 2, title: 'a2' });
        const b = anIncident({ id: 'in-b', tenant: 'acme', revision: 1 });
        await store.incidents.upsert(a);
        await store.incidents.upsertMany([{ ...a, revision: 1, title: 'a1' }, b]);
        await store.incidents.upsertMany([]);
        expect((await store.incidents.get('in-a'))?.title).toBe('a2');
        expect((await store.incidents.get('in-b'))?.revision).toBe(1);
        await store.incidents.upsertMany([{ ...a, revision: 3, title: 'a3' }]);
        expect((await store.incidents.get('in-a'))?.title).toBe('a3');
      });

      it('recentOf reads the most recent incidents of each entity of a tenant, newest first, in one call', async () => {
        const on = (id: string, tenant: string, entityType: 'ip' | 'token', entity: string, lastSeen: number) =>
          anIncident({ id, tenant, entityType, entity, firstSeen: lastSeen - 60_000, lastSeen });
        await store.incidents.upsertMany([
          on('ip1-old', 'acme', 'ip', '198.51.100.1', T0),
          on('ip1-mid', 'acme', 'ip', '198.51.100.1', T0 + 1000),
          on('ip1-new', 'acme', 'ip', '198.51.100.1', T0 + 2000),
          on('ip2', 'acme', 'ip', '198.51.100.2', T0),
          on('tok-same-value', 'acme', 'token', '198.51.100.1', T0 + 5000),
          on('other-tenant', 'globex', 'ip', '198.51.100.1', T0 + 9000),
          on('ip3-not-asked', 'acme', 'ip', '198.51.100.3', T0),
        ]);
        await store.incidents.upsert({ ...on('ip1-new', 'acme', 'ip', '198.51.100.1', T0 + 2000), revision: 2, title: 'latest' });
        const got = await store.incidents.recentOf({ tenant: 'acme', entities: [{ type: 'ip', value: '198.51.100.1' }, { type: 'ip', value: '198.51.100.2' }], limit: 2 });
        const byEntity = (entity: string) => got.filter((i) => i.entity === entity).map((i) => i.id);
        expect(byEntity('198.51.100.1')).toEqual(['ip1-new', 'ip1-mid']);
        expect(byEntity('198.51.100.2')).toEqual(['ip2']);
        expect(got).toHaveLength(3);
        expect(got.find((i) => i.id === 'ip1-new')).toMatchObject({ revision: 2, title: 'latest' });
        expect(await store.incidents.recentOf({ tenant: 'acme', entities: [], limit: 5 })).toEqual([]);
      });
    });

    describe('outbox', () => {
      const entry = (id: string, key: string, createdAt: number, payload = `{"n":"${id}"}`) => ({ id, key, payload, createdAt });

      it('lists pending entries by key, oldest first, until they are marked done', async () => {
        await store.outbox.add([entry('b', 'k1', T0 + 2), entry('a', 'k1', T0 + 1), entry('c', "k'2\\", T0)]);
        expect(ids(await store.outbox.pending({ keys: ['k1'] }))).toEqual(['a', 'b']);
        expect(ids(await store.outbox.pending({}))).toEqual(['c', 'a', 'b']);
        expect(await store.outbox.pending({ keys: ["k'2\\"] })).toEqual([entry('c', "k'2\\", T0)]);
        expect(await store.outbox.pending({ keys: [] })).toEqual([]);
        await store.outbox.markDone([entry('a', 'k1', T0 + 1)], T0 + 10);
        expect(ids(await store.outbox.pending({ keys: ['k1', "k'2\\"] }))).toEqual(['c', 'b']);
      });

      it('keeps one entry per id: adding a pending id again replaces its payload, a done id stays done', async () => {
        await store.outbox.add([entry('a', 'k', T0, 'first'), entry('b', 'k', T0, 'first')]);
        await store.outbox.add([entry('a', 'k', T0, 'second')]);
        expect((await store.outbox.pending({ keys: ['k'] })).map((e) => [e.id, e.payload])).toEqual([['a', 'second'], ['b', 'first']]);
        await store.outbox.markDone([entry('b', 'k', T0)], T0 + 5);
        await store.outbox.add([entry('b', 'k', T0, 'again')]);
        expect(ids(await store.outbox.pending({ keys: ['k'] }))).toEqual(['a']);
      });

      it('lists only entries recorded before createdBefore, at most limit', async () => {
        await store.outbox.add([entry('a', 'k', T0), entry('b', 'k', T0 + 1000), entry('c', 'k', T0 + 2000)]);
        expect(ids(await store.outbox.pending({ createdBefore: T0 + 2000 }))).toEqual(['a', 'b']);
        expect(ids(await store.outbox.pending({ limit: 1 }))).toEqual(['a']);
      });
    });
  });
}

interface JestGlobals {
  describe: typeof Describe;
  it: typeof It;
  expect: typeof Expect;
  beforeEach: typeof BeforeEach;
  afterEach: typeof AfterEach;
}

/** Jest's globals, read at call time so importing @vigil/testing outside Jest (scripts, benches) stays harmless. */
function jestGlobals(): JestGlobals {
  const g = globalThis as unknown as Partial<JestGlobals>;
  if (!g.describe || !g.it || !g.expect || !g.beforeEach || !g.afterEach) {
    throw new Error('storeContract() registers Jest tests: call it from a spec file run by Jest');
  }
  return g as JestGlobals;
}
