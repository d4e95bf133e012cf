import { jest } from '@jest/globals';
import { KafkaEventBus } from '@vigil/platform';
import { testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { bulkRecord } from '../fixtures/gateway-records.js';
import { accessEventCounts, type EventCounts } from '../fixtures/ingest-harness.js';
import { distributedEnv, type DistributedEnv } from './helpers/distributed-env.js';
import { spawnService, type Exit, type ServiceProcess } from './helpers/service-process.js';

jest.setTimeout(240_000);

const TOTAL = 20_000;
const CHUNK = 1_000;

/**
 * The shutdown drill of the ingest service in distributed mode (Kafka + ClickHouse): 20,000 raw records stream in,
 * the service is stopped while batches are in flight, a second instance with the same consumer group takes over,
 * and ClickHouse must end with every record exactly once.
 */
describe.each([
  ['SIGTERM', 'drains the batch in flight, commits it and exits 0; the next instance resumes with no duplicate'],
  ['SIGKILL', 'loses nothing; the next instance redelivers what was not committed and the store shows no duplicate'],
] as const)('ingest service stopped with %s mid-stream', (signal, behaviour) => {
  const { clickhouseUrl, kafkaBrokers } = testEndpoints();
  let d: DistributedEnv;
  let env: Record<string, string>;
  let producer: KafkaEventBus;
  const procs: ServiceProcess[] = [];

  beforeAll(() => {
    d = distributedEnv(`ingest_${signal.toLowerCase()}`);
    env = {
      ...d.env,
      VIGIL_RAW_LOGS_TOPIC: uniqueName(`e2e-ingest-${signal.toLowerCase()}-raw`),
      VIGIL_DLQ_TOPIC: uniqueName(`e2e-ingest-${signal.toLowerCase()}-dlq`),
      VIGIL_TENANT: uniqueName('acme'),
    };
    producer = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('e2e-ingest-producer') });
  });

  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.kill()));
    await producer?.close();
    await d?.cleanup();
  });

  it(behaviour, async () => {
    const counts = (): Promise<EventCounts> => accessEventCounts(clickhouseUrl, d.database);
    const first = await spawnService('ingest', env);
    procs.push(first);

    // Stream the records in chunks while the first instance consumes them.
    const base = Date.now() - 60_000;
    const producing = (async () => {
      for (let from = 0; from < TOTAL; from += CHUNK) {
        await producer.publish(
          env.VIGIL_RAW_LOGS_TOPIC!,
          Array.from({ length: CHUNK }, (_, i) => ({ key: null, value: bulkRecord(from + i, base).raw })),
        );
      }
    })();
    producing.catch(() => undefined); // awaited below; do not let an early failure turn it into an unhandled rejection

    await waitFor(async () => (await counts().catch(() => ({ ids: 0 }))).ids >= 2_000, { timeoutMs: 90_000, what: 'the first instance to store some events' });
    const atSignal = await counts();
    const exit: Exit = await first.stop(signal);
    expect(atSignal.ids).toBeLessThan(TOTAL);

    if (signal === 'SIGTERM') {
      expect(exit).toEqual({ code: 0, signal: null });
      const shutdown = first.logs().filter((l) => l.component === 'shutdown').map((l) => l.msg);
      const step = (p: RegExp) => shutdown.findIndex((m) => p.test(m));
      const steps = [/^shutdown: SIGTERM received/, /^shutdown: closing event bus \(kafka\): draining/, /^shutdown: event-bus closed$/, /^shutdown: complete$/].map(step);
      expect({ shutdown, steps }).toEqual({ shutdown, steps: [...steps].sort((a, b) => a - b) });
      expect(steps).not.toContain(-1);
      expect(step(/^shutdown: event-bus closed$/)).toBeLessThan(step(/^shutdown: closing store/));
      expect(first.logs().filter((l) => l.level === 'error' || l.level === 'fatal' || Number(l.level) >= 50)).toEqual([]);
    } else {
      expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    }

    await producing;
    // After a SIGKILL the dead member holds the group until its session times out (~30 s), and the service joins the
    // group before it listens, so allow for that.
    const second = await spawnService('ingest', env, 90_000);
    procs.push(second);
    await waitFor(async () => (await counts()).ids === TOTAL, { timeoutMs: 150_000, intervalMs: 250, what: `${TOTAL} distinct events in ClickHouse` });

    const end = await counts();
    expect({ final: end.final, ids: end.ids }).toEqual({ final: TOTAL, ids: TOTAL });
    // A clean drain commits everything it stored, so not one record was processed twice.
    if (signal === 'SIGTERM') expect(end.rows).toBe(TOTAL);
    else expect(end.rows).toBeGreaterThanOrEqual(TOTAL);

    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
