import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import pino from 'pino';
import { WebhookPayloadV1 } from '@vigil/contracts';
import { BullMqWorkQueue, SqliteStore, systemClock, type Principal, type WebhookSubscription } from '@vigil/platform';
import { anIncident, aWebhookSubscription, testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { AuditLog } from '@vigil/alert/audit/audit-log.service';
import { CircuitBreakers } from '@vigil/alert/webhooks/circuit-breaker';
import { verifyWebhook } from '@vigil/alert/webhooks/signing';
import { SsrfGuard } from '@vigil/alert/webhooks/ssrf-guard';
import { SubscriptionCache } from '@vigil/alert/webhooks/subscription-cache';
import { WebhookDeliverer } from '@vigil/alert/webhooks/webhook-deliverer';
import { WebhookDispatcher } from '@vigil/alert/webhooks/webhook-dispatcher';
import type { WebhookJob } from '@vigil/alert/webhooks/webhook-job';
import { WebhooksService } from '@vigil/alert/webhooks/webhooks.service';
import { WebhookReceiver, type Reply } from '../fixtures/webhook-receiver.js';

jest.setTimeout(30_000);

describe('webhook deliveries through BullMQ on Redis', () => {
  const { redisUrl } = testEndpoints();
  const prefix = uniqueName('vigil_whk');
  let receiver: WebhookReceiver;
  const retry = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 200 };
  const admin: Principal = { keyId: 'k-admin', tenant: 'acme', role: 'admin', scopes: ['admin'] };
  let store: SqliteStore;
  let queue: BullMqWorkQueue<WebhookJob>;
  let dispatcher: WebhookDispatcher;
  let service: WebhooksService;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    store = new SqliteStore({ path: ':memory:' });
    await store.migrate();
    queue = new BullMqWorkQueue<WebhookJob>({ redisUrl, name: 'webhooks', retry, prefix });
    const cache = new SubscriptionCache(store.webhooks, systemClock, 0);
    // 127.0.0.1 only: the receiver. Everything else non-public stays refused.
    const guard = new SsrfGuard({ allowPrivate: false, allowedCidrs: ['127.0.0.1/32'] });
    const deliverer = new WebhookDeliverer({
      store, queue, subscriptions: cache, guard, breakers: new CircuitBreakers({ threshold: 50, cooldownMs: 1_000 }, systemClock),
      clock: systemClock, logger: pino({ level: 'silent' }), timeoutMs: 400, maxAttempts: retry.maxAttempts,
    });
    dispatcher = new WebhookDispatcher(queue, cache, systemClock);
    service = new WebhooksService(store, queue, systemClock, guard, cache, new AuditLog(store, systemClock));
    await queue.start(deliverer.handle, 4);
  });

  afterAll(async () => {
    await queue?.close();
    await store?.close();
    await receiver?.close();
    const redis = new Redis(redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  });

  async function subscribe(path: string, replies: Reply[], o: Partial<WebhookSubscription> = {}): Promise<WebhookSubscription> {
    const s = aWebhookSubscription({ url: receiver.sequence(path, replies), events: [], minSeverity: 'low', ...o });
    await store.webhooks.putSubscription(s);
    return s;
  }
  const deliveries = async (subscriptionId: string) =>
    (await store.webhooks.listDeliveries({ subscriptionId })).sort((a, b) => a.attempt - b.attempt || a.at - b.at);

  it('delivers exactly once successfully to a receiver that fails three times, same webhook-id and a valid signature each time', async () => {
    const sub = await subscribe('/flaky', [{ status: 500 }, { status: 502 }, { status: 503 }, { status: 200 }]);
    const incident = anIncident({ tenant: 'acme', severity: 'high' });
    expect(await dispatcher.dispatch({ type: 'incident.opened', incident })).toBe(1);

    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'succeeded'), { what: 'a successful delivery' });
    const log = await deliveries(sub.id);
    expect(log.map((d) => [d.attempt, d.status, d.httpStatus])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 502],
      [3, 'failed', 503],
      [4, 'succeeded', 200],
    ]);
    const calls = receiver.at('/flaky');
    expect(calls).toHaveLength(4);
    const ids = new Set(calls.map((c) => c.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (const c of calls) {
      const ok = verifyWebhook(sub.secret, {
        id: String(c.headers['webhook-id']), timestamp: String(c.headers['webhook-timestamp']), signature: String(c.headers['webhook-signature']),
      }, c.body, Math.floor(Date.now() / 1000));
      expect(ok).toBe(true);
    }
    const payload = WebhookPayloadV1.parse(JSON.parse(calls[0]!.body));
    expect(payload).toMatchObject({ version: 'v1', id: [...ids][0], type: 'incident.opened', groupKey: `acme/${incident.id}` });
    expect(payload.data.incident.explanation).toBe(incident.explanation);
    expect(log.every((d) => d.eventId === payload.id)).toBe(true);

    // Dispatching the same lifecycle event again is deduplicated by the queue (same job id): nothing new to run.
    await dispatcher.dispatch({ type: 'incident.opened', incident });
    const c = await queue.counts();
    expect(c.waiting + c.delayed + c.active).toBe(0);
  });

  it('honours Retry-After on a 429: the next attempt comes no sooner than the receiver asked', async () => {
    const sub = await subscribe('/slow-down', [{ status: 429, headers: { 'retry-after': '1' } }, { status: 204 }]);
    await dispatcher.dispatch({ type: 'incident.updated', incident: anIncident({ tenant: 'acme' }) });
    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'succeeded'), { what: 'delivery after Retry-After' });
    const [first, second] = receiver.at('/slow-down');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
    expect((await deliveries(sub.id)).map((d) => [d.status, d.httpStatus])).toEqual([['failed', 429], ['succeeded', 204]]);
  });

  it('retries an attempt that times out', async () => {
    const sub = await subscribe('/hangs', [{ status: 200, delayMs: 2_000 }, { status: 200 }]);
    await dispatcher.dispatch({ type: 'incident.opened', incident: anIncident({ tenant: 'acme' }) });
    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'succeeded'), { what: 'delivery after a timeout' });
    const log = await deliveries(sub.id);
    expect(log.map((d) => [d.attempt, d.status, d.error])).toEqual([[1, 'failed', 'timed out after 400 ms'], [2, 'succeeded', '']]);
  });

  it('dead-letters a 4xx without retrying, and a replay delivers it', async () => {
    const sub = await subscribe('/gone', [{ status: 410 }, { status: 200 }]);
    await dispatcher.dispatch({ type: 'incident.resolved', incident: anIncident({ tenant: 'acme', status: 'resolved' }) });
    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'dead'), { what: 'a dead delivery' });
    const dead = (await queue.deadLetters()).find((j) => j.data.subscriptionId === sub.id);
    expect(dead).toMatchObject({ attempts: 1, error: 'HTTP 410' });
    expect(receiver.at('/gone')).toHaveLength(1);

    await expect(service.replay(admin, dead!.data.messageId)).resolves.toEqual({ replayed: dead!.data.messageId, subscriptionId: sub.id });
    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'succeeded'), { what: 'the replayed delivery' });
    expect((await deliveries(sub.id)).map((d) => [d.status, d.httpStatus])).toEqual([['dead', 410], ['succeeded', 200]]);
    expect(new Set(receiver.at('/gone').map((r) => r.headers['webhook-id']))).toEqual(new Set([dead!.data.messageId]));
    expect(await store.audit.list({ action: 'webhook_delivery.replayed' })).toEqual([
      expect.objectContaining({ actor: 'key:k-admin', targetId: dead!.data.messageId }),
    ]);
  });

  it('refuses, at delivery time, a target that is not allowed (here 127.0.0.2), without calling it', async () => {
    const s = aWebhookSubscription({ url: 'http://127.0.0.2:9/hook', events: [], minSeverity: 'low', tenant: 'acme' });
    await store.webhooks.putSubscription(s);
    await dispatcher.dispatch({ type: 'incident.opened', incident: anIncident({ tenant: 'acme' }) });
    await waitFor(async () => (await deliveries(s.id)).length > 0, { what: 'the refused delivery' });
    expect(await deliveries(s.id)).toEqual([expect.objectContaining({ status: 'dead', httpStatus: 0, error: expect.stringContaining('127.0.0.2 is a loopback address') })]);
  });

  it('only delivers what a subscription asked for: its tenant, event types and minimum severity', async () => {
    const picky = await subscribe('/picky', [{ status: 200 }], { events: ['incident.resolved'], minSeverity: 'critical' });
    const n = await Promise.all([
      dispatcher.dispatch({ type: 'incident.opened', incident: anIncident({ tenant: 'acme', severity: 'critical' }) }),
      dispatcher.dispatch({ type: 'incident.resolved', incident: anIncident({ tenant: 'acme', severity: 'high', status: 'resolved' }) }),
      dispatcher.dispatch({ type: 'incident.resolved', incident: anIncident({ tenant: 'globex', severity: 'critical', status: 'resolved' }) }),
      dispatcher.dispatch({ type: 'incident.resolved', incident: anIncident({ tenant: 'acme', severity: 'critical', status: 'resolved' }) }),
    ]);
    expect(n[2]).toBe(0);
    await waitFor(async () => (await deliveries(picky.id)).length === 1, { what: 'the one matching delivery' });
    expect(JSON.parse(receiver.at('/picky')[0]!.body)).toMatchObject({ type: 'incident.resolved', data: { incident: { severity: 'critical', tenant: 'acme' } } });
  });

  it('gives a new subscription the events that happen after its creation, not the history a replayed topic holds', async () => {
    const now = Date.now();
    // a tenant of its own: the other tests' subscriptions (created long ago) would take the old event
    const sub = await subscribe('/fresh', [{ status: 200 }], { tenant: 'initech', createdAt: now, updatedAt: now });
    const old = anIncident({ tenant: 'initech', severity: 'high' });
    const fresh = anIncident({ tenant: 'initech', severity: 'high' });
    expect(await dispatcher.dispatch({ type: 'incident.opened', incident: old, eventId: `evt-old-${old.id}`, at: now - 3_600_000 })).toBe(0);
    expect(await dispatcher.dispatch({ type: 'incident.opened', incident: fresh, eventId: `evt-new-${fresh.id}`, at: now })).toBe(1);
    await waitFor(async () => (await deliveries(sub.id)).some((d) => d.status === 'succeeded'), { what: 'the fresh event delivered' });
    const got = receiver.at('/fresh').map((c) => WebhookPayloadV1.parse(JSON.parse(c.body)).data.incident.id);
    expect(got).toEqual([fresh.id]);
  });
});
