import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, SqliteStore, type WebhookDelivery, type WorkQueue } from '@vigil/platform';
import { aWebhookSubscription } from '@vigil/testing';
import pino from 'pino';
import { CircuitBreakers } from './circuit-breaker.js';
import { DeliveryLogWriter } from './delivery-log-writer.js';
import { SsrfGuard } from './ssrf-guard.js';
import { SubscriptionCache } from './subscription-cache.js';
import { WebhookDeliverer } from './webhook-deliverer.js';
import type { WebhookJob } from './webhook-job.js';

const T0 = Date.UTC(2024, 2, 10);

describe(WebhookDeliverer.name, () => {
  let server: Server;
  let received: string[];
  let store: SqliteStore;

  beforeEach(async () => {
    received = [];
    server = createServer((req, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    store = new SqliteStore({ path: ':memory:', clock: new ManualClock(T0) });
    await store.migrate();
  });

  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  });

  function deliverer(write: (rows: readonly WebhookDelivery[]) => Promise<void>) {
    const clock = new ManualClock(T0);
    return new WebhookDeliverer({
      store, queue: {} as WorkQueue<WebhookJob>, subscriptions: new SubscriptionCache(store.webhooks, clock),
      guard: new SsrfGuard({ allowPrivate: false, allowedCidrs: ['127.0.0.1/32'] }),
      breakers: new CircuitBreakers({ threshold: 5, cooldownMs: 30_000 }, clock), clock, logger: pino({ level: 'silent' }),
      timeoutMs: 5_000, maxAttempts: 5, deliveryLog: new DeliveryLogWriter({ write, maxRows: 1 }),
    });
  }

  describe('when the delivery log cannot be written', () => {
    it('fails the job, and its retry logs the success without sending the message again', async () => {
      const { port } = server.address() as AddressInfo;
      const sub = aWebhookSubscription({ url: `http://127.0.0.1:${port}/hook` });
      await store.webhooks.putSubscription(sub);
      let failWrites = 1;
      const d = deliverer(async (rows) => {
        if (failWrites-- > 0) throw new Error('ClickHouse unavailable');
        await store.webhooks.recordDeliveries(rows);
      });
      const data: WebhookJob = {
        v: 1, messageId: 'msg_1', subscriptionId: sub.id, tenant: sub.tenant, type: 'incident.opened', body: '{"id":"msg_1"}',
        createdAt: T0, attemptsBefore: 0, deferrals: 0,
      };

      await expect(d.handle({ id: 'job-1', data, attempt: 1 })).rejects.toThrow('ClickHouse unavailable');
      expect(await d.handle({ id: 'job-1', data, attempt: 2 })).toEqual({ ok: true });
      d.close();

      expect(received).toEqual(['msg_1']);
      const log = await store.webhooks.listDeliveries({ subscriptionId: sub.id });
      expect(log.map((r) => [r.eventId, r.status, r.attempt, r.httpStatus])).toEqual([['msg_1', 'succeeded', 1, 204]]);
    });

    it('sends a failed attempt again on the retry', async () => {
      const { port } = server.address() as AddressInfo;
      const sub = aWebhookSubscription({ url: `http://127.0.0.1:${port}/hook` });
      await store.webhooks.putSubscription(sub);
      server.removeAllListeners('request');
      let status = 503;
      server.on('request', (req, res) => {
        received.push(String(req.headers['webhook-id']));
        req.resume();
        req.on('end', () => res.writeHead(status).end());
      });
      let failWrites = 1;
      const d = deliverer(async (rows) => {
        if (failWrites-- > 0) throw new Error('ClickHouse unavailable');
        await store.webhooks.recordDeliveries(rows);
      });
      const data: WebhookJob = {
        v: 1, messageId: 'msg_2', subscriptionId: sub.id, tenant: sub.tenant, type: 'incident.opened', body: '{}',
        createdAt: T0, attemptsBefore: 0, deferrals: 0,
      };

      await expect(d.handle({ id: 'job-2', data, attempt: 1 })).rejects.toThrow('ClickHouse unavailable');
      status = 200;
      expect(await d.handle({ id: 'job-2', data, attempt: 2 })).toEqual({ ok: true });
      d.close();

      expect(received).toEqual(['msg_2', 'msg_2']);
      const log = await store.webhooks.listDeliveries({ subscriptionId: sub.id });
      expect(log.map((r) => [r.status, r.attempt])).toEqual([['succeeded', 2]]);
    });
  });
});
