/**
 * Webhook delivery throughput: N incident events dispatched to one subscription on a local HTTP receiver, through
 * the real pipeline (dispatcher → work queue → deliverer: SSRF check, breaker, signing, fetch, delivery log), for
 * both queue adapters: BullMQ on Redis (distributed) and SQLite (standalone). Prints deliveries/s and CPU.
 *
 *   npm run bench:alert            (or: tsx scripts/bench/webhooks.ts [--n 3000] [--concurrency 16])
 * Redis: VIGIL_BENCH_REDIS_URL, else VIGIL_TEST_REDIS_URL, else redis://127.0.0.1:16379. Target: ≥ 500 deliveries/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { BullMqWorkQueue, SqliteStore, SqliteWorkQueue, systemClock, type WorkQueue } from '@vigil/platform';
import { anIncident, aWebhookSubscription } from '@vigil/testing';
import { CircuitBreakers } from '@vigil/alert/webhooks/circuit-breaker';
import { verifyWebhook } from '@vigil/alert/webhooks/signing';
import { SsrfGuard } from '@vigil/alert/webhooks/ssrf-guard';
import { SubscriptionCache } from '@vigil/alert/webhooks/subscription-cache';
import { WebhookDeliverer } from '@vigil/alert/webhooks/webhook-deliverer';
import { WebhookDispatcher } from '@vigil/alert/webhooks/webhook-dispatcher';
import type { WebhookJob } from '@vigil/alert/webhooks/webhook-job';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('n', 3000);
const CONCURRENCY = arg('concurrency', 16);
const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379';
const retry = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

async function run(label: string, makeQueue: () => WorkQueue<WebhookJob>, dir: string): Promise<void> {
  let received = 0;
  let badSignatures = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const store = new SqliteStore({ path: join(dir, `${label}.sqlite`) });
  await store.migrate();
  const sub = aWebhookSubscription({ tenant: 'acme', events: [], minSeverity: 'low', url: 'http://127.0.0.1:1/' });
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      // Verify every 50th signature, as a receiver would (all of them would measure the receiver, not us).
      if (received % 50 === 0) {
        const h = req.headers;
        const ok = verifyWebhook(sub.secret, { id: String(h['webhook-id']), timestamp: String(h['webhook-timestamp']), signature: String(h['webhook-signature']) }, body, Math.floor(Date.now() / 1000));
        if (!ok) badSignatures += 1;
      }
      res.writeHead(204).end();
      if (++received === N) resolveDone();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  await store.webhooks.putSubscription(sub);

  const queue = makeQueue();
  const cache = new SubscriptionCache(store.webhooks, systemClock);
  const deliverer = new WebhookDeliverer({
    store, queue, subscriptions: cache, guard: new SsrfGuard({ allowPrivate: false, allowedCidrs: ['127.0.0.1/32'] }),
    breakers: new CircuitBreakers({ threshold: 5, cooldownMs: 30_000 }, systemClock), clock: systemClock,
    logger: pino({ level: 'silent' }), timeoutMs: 10_000, maxAttempts: retry.maxAttempts,
  });
  const dispatcher = new WebhookDispatcher(queue, cache, systemClock);
  const incidents = Array.from({ length: N }, () => anIncident({ tenant: 'acme' }));

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await queue.start(deliverer.handle, CONCURRENCY);
  for (let i = 0; i < N; i += 500) {
    await Promise.all(incidents.slice(i, i + 500).map((incident) => dispatcher.dispatch({ type: 'incident.opened', incident })));
  }
  const enqueuedMs = performance.now() - t0;
  await done;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let succeeded = 0;
  for (let i = 0; i < 100 && succeeded < N; i++) {
    succeeded = (await store.webhooks.listDeliveries({ subscriptionId: sub.id, status: 'succeeded', limit: N + 10 })).length;
    if (succeeded < N) await new Promise((r) => setTimeout(r, 20));
  }
  await queue.close();
  await store.close();
  server.closeAllConnections();
  server.close();
  console.log(
    `${label.padEnd(8)} ${N} deliveries in ${(ms / 1000).toFixed(2)} s = ${Math.round((N / ms) * 1000)} deliveries/s ` +
      `(enqueue ${Math.round(enqueuedMs)} ms, concurrency ${CONCURRENCY}, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ` +
      `logged succeeded ${succeeded}, bad signatures ${badSignatures})`,
  );
}

/** The floor on this machine: bare fetch POSTs to a bare receiver, same concurrency, no queue, no signing, no log. */
async function fetchFloor(): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < N) await (await fetch(url, { method: 'POST', body: '{}', redirect: 'manual' })).arrayBuffer();
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  server.closeAllConnections();
  server.close();
  console.log(`floor    ${N} bare fetch POSTs in ${(ms / 1000).toFixed(2)} s = ${Math.round((N / ms) * 1000)} req/s (cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`);
}

await fetchFloor();
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-webhooks-'));
const prefix = `vigil_bench_whk_${process.pid}`;
try {
  await run('sqlite', () => new SqliteWorkQueue<WebhookJob>({ path: join(dir, 'queue.sqlite'), name: 'webhooks', retry }), dir);
  await run('bullmq', () => new BullMqWorkQueue<WebhookJob>({ redisUrl, name: 'webhooks', retry, prefix, keepCompleted: N }), dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
