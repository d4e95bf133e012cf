/**
 * Webhook delivery throughput: N incident events dispatched to one subscription on a local HTTP receiver, through
 * the real pipeline (dispatcher → work queue → deliverer: SSRF check, breaker, signing, keep-alive POST, delivery
 * log), for both queue adapters: SQLite (standalone) and BullMQ on Redis (distributed). Prints deliveries/s, the CPU
 * of this process (the delivering side) and of the receiver, and the load average.
 *
 *   npm run bench:alert            (or: tsx scripts/bench/webhooks.ts [--n 5000] [--concurrency 64] [--mode both|sqlite|bullmq]
 *                                                                      [--bullmq-store clickhouse|sqlite])
 *
 * sqlite   standalone: SqliteWorkQueue + SqliteStore (delivery log), each in its own file.
 * bullmq   distributed: BullMqWorkQueue on Redis + ClickHouseStore (delivery log in a database of its own, dropped
 *          afterwards), as the alert service runs; `--bullmq-store sqlite` logs to SQLite instead.
 *
 * The receiver runs in a child process (as a real receiver would: its CPU is not the deliverer's) and verifies every
 * signature and counts distinct webhook-ids, so duplicates and bad signatures show. Two floors for comparison:
 * bare global `fetch` and bare node:http keep-alive POSTs to the same receiver, no queue, no signing, no log.
 * Redis: VIGIL_BENCH_REDIS_URL, else VIGIL_TEST_REDIS_URL, else redis://127.0.0.1:16379; ClickHouse likewise
 * VIGIL_BENCH_CLICKHOUSE_URL / VIGIL_TEST_CLICKHOUSE_URL / http://127.0.0.1:18123. Target: ≥ 500 deliveries/s.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import pino from 'pino';
import { BullMqWorkQueue, SqliteStore, SqliteWorkQueue, systemClock, type Store, type WorkQueue } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anIncident, aWebhookSubscription } from '@vigil/testing';
import { CircuitBreakers } from '@vigil/alert/webhooks/circuit-breaker';
import { verifyWebhook } from '@vigil/alert/webhooks/signing';
import { SsrfGuard } from '@vigil/alert/webhooks/ssrf-guard';
import { SubscriptionCache } from '@vigil/alert/webhooks/subscription-cache';
import { WebhookDeliverer } from '@vigil/alert/webhooks/webhook-deliverer';
import { WebhookDispatcher } from '@vigil/alert/webhooks/webhook-dispatcher';
import type { WebhookJob } from '@vigil/alert/webhooks/webhook-job';

const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};

/** Receiver report, sent to the parent over IPC. */
interface ReceiverReport { received: number; distinct: number; badSignatures: number; cpuS: number }
type ToReceiver = { cmd: 'reset'; secret: string; expect: number } | { cmd: 'report' };
type FromReceiver = { port: number } | { done: ReceiverReport } | { report: ReceiverReport };

/** The child: answers 204 to every POST; verifies each signature when a secret is set; reports when `expect` arrived. */
function runReceiver(): void {
  let secret = '';
  let expect = 0;
  let received = 0;
  let bad = 0;
  let ids = new Set<string>();
  let cpu0 = process.cpuUsage();
  const report = (): ReceiverReport => {
    const c = process.cpuUsage(cpu0);
    return { received, distinct: ids.size, badSignatures: bad, cpuS: (c.user + c.system) / 1e6 };
  };
  const send = (m: FromReceiver) => process.send?.(m);
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      if (secret) {
        const h = req.headers;
        const id = String(h['webhook-id']);
        const ok = verifyWebhook(secret, { id, timestamp: String(h['webhook-timestamp']), signature: String(h['webhook-signature']) }, Buffer.concat(chunks).toString('utf8'), Math.floor(Date.now() / 1000));
        if (!ok) bad += 1;
        ids.add(id);
      }
      res.writeHead(204).end();
      if (++received === expect) send({ done: report() });
    });
  });
  process.on('message', (m: ToReceiver) => {
    if (m.cmd === 'reset') {
      secret = m.secret;
      expect = m.expect;
      received = 0;
      bad = 0;
      ids = new Set();
      cpu0 = process.cpuUsage();
    } else send({ report: report() });
  });
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
}

class ReceiverProcess {
  private waiting: ((r: ReceiverReport) => void) | null = null;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (m: FromReceiver) => {
      if ('done' in m || 'report' in m) {
        this.waiting?.('done' in m ? m.done : m.report);
        this.waiting = null;
      }
    });
  }

  static async start(): Promise<ReceiverProcess> {
    const child = fork(SELF, ['--role', 'receiver'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: FromReceiver) => ('port' in m ? resolve(m.port) : reject(new Error('receiver did not start'))));
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
    });
    return new ReceiverProcess(child, port);
  }

  /** Resolves when `expect` requests have arrived since this call. */
  expect(secret: string, n: number): Promise<ReceiverReport> {
    const done = new Promise<ReceiverReport>((r) => (this.waiting = r));
    this.child.send({ cmd: 'reset', secret, expect: n } satisfies ToReceiver);
    return done;
  }

  stop(): void {
    this.child.disconnect();
  }
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const cpuS = (c: NodeJS.CpuUsage): string => ((c.user + c.system) / 1e6).toFixed(2);

async function main(): Promise<void> {
  const N = Number(opt('n', '5000'));
  const CONCURRENCY = Number(opt('concurrency', '64'));
  const mode = opt('mode', 'both');
  const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379';
  const clickhouseUrl = process.env.VIGIL_BENCH_CLICKHOUSE_URL ?? process.env.VIGIL_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
  const bullmqStore = opt('bullmq-store', 'clickhouse');
  const retry = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  console.log(`webhook deliveries: n ${N}, concurrency ${CONCURRENCY}, ${cpus().length} CPUs, node ${process.version}, load average ${load()} at start`);

  const receiver = await ReceiverProcess.start();
  const base = `http://127.0.0.1:${receiver.port}`;

  async function floor(label: string, post: (url: string) => Promise<void>): Promise<void> {
    const done = receiver.expect('', N);
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await post(`${base}/floor`);
    }));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const r = await done;
    console.log(`${label.padEnd(11)} ${N} bare POSTs in ${(ms / 1000).toFixed(2)} s = ${Math.round((N / ms) * 1000)} req/s (cpu ${cpuS(cpu)} s, receiver cpu ${r.cpuS.toFixed(2)} s, load ${load()})`);
  }

  async function run(label: string, makeQueue: () => WorkQueue<WebhookJob>, makeStore: () => Store): Promise<void> {
    const store = makeStore();
    await store.migrate();
    const sub = aWebhookSubscription({ tenant: 'acme', events: [], minSeverity: 'low', url: `${base}/hook` });
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
    const received = receiver.expect(sub.secret, N);

    const load0 = load();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await queue.start(deliverer.handle, CONCURRENCY);
    for (let i = 0; i < N; i += 500) {
      await Promise.all(incidents.slice(i, i + 500).map((incident) => dispatcher.dispatch({ type: 'incident.opened', incident })));
    }
    const enqueuedMs = performance.now() - t0;
    const r = await received;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    let succeeded = 0;
    for (let i = 0; i < 200 && succeeded < N; i++) {
      succeeded = (await store.webhooks.listDeliveries({ subscriptionId: sub.id, status: 'succeeded', limit: N + 10 })).length;
      if (succeeded < N) await new Promise((res) => setTimeout(res, 20));
    }
    await queue.close();
    deliverer.close();
    await store.close();
    console.log(
      `${label.padEnd(11)} ${N} deliveries in ${(ms / 1000).toFixed(2)} s = ${Math.round((N / ms) * 1000)} deliveries/s ` +
        `(enqueue ${Math.round(enqueuedMs)} ms; cpu ${cpuS(cpu)} s = ${(((cpu.user + cpu.system) / 1e3) / N).toFixed(2)} ms/delivery, receiver cpu ${r.cpuS.toFixed(2)} s; ` +
        `received ${r.received}, distinct ids ${r.distinct}, bad signatures ${r.badSignatures}, logged succeeded ${succeeded} in ${store.kind}; load ${load0} → ${load()})`,
    );
  }

  const keepAlive = new Agent({ keepAlive: true });
  await floor('floor fetch', async (url) => {
    await (await fetch(url, { method: 'POST', body: '{}', redirect: 'manual' })).arrayBuffer();
  });
  await floor('floor http', (url) =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json', 'content-length': 2 } }, (res) => {
        res.resume().on('end', resolve).on('error', reject);
      });
      req.on('error', reject).end('{}');
    }),
  );
  keepAlive.destroy();

  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-webhooks-'));
  const prefix = `vigil_bench_whk_${process.pid}`;
  const sqliteStore = (name: string) => () => new SqliteStore({ path: join(dir, `${name}.sqlite`) });
  try {
    if (mode !== 'bullmq') await run('sqlite', () => new SqliteWorkQueue<WebhookJob>({ path: join(dir, 'queue.sqlite'), name: 'webhooks', retry }), sqliteStore('sqlite'));
    if (mode !== 'sqlite') {
      await run(
        'bullmq',
        () => new BullMqWorkQueue<WebhookJob>({ redisUrl, name: 'webhooks', retry, prefix, keepCompleted: N }),
        bullmqStore === 'sqlite' ? sqliteStore('bullmq') : () => new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database: prefix }),
      );
    }
  } finally {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
    if (mode !== 'sqlite' && bullmqStore !== 'sqlite') {
      const admin = createClient({ url: clickhouseUrl, username: 'default', password: '', request_timeout: 120_000 });
      await admin
        .command({ query: `DROP DATABASE IF EXISTS ${prefix}` })
        .catch((err: unknown) => console.error(`could not drop ClickHouse database ${prefix}: ${String(err)}`))
        .finally(() => admin.close());
    }
    if (mode !== 'sqlite') {
      const redis = new Redis(redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    }
  }
}

if (opt('role', '') === 'receiver') runReceiver();
else await main();
