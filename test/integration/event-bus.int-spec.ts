import { InProcessEventBus, KafkaEventBus, MetricsService, registerConsumerMetrics, type InboundMessage } from '@vigil/platform';
import { eventBusContract, uniqueName, waitFor } from '@vigil/testing';
import { testKafkaBus } from '../fixtures/kafka-bus.js';

const KAFKA_PARTITIONS = 4; // what the Kafka-protocol broker gives an auto-created topic

eventBusContract('in-process', async () => new InProcessEventBus({ partitions: KAFKA_PARTITIONS }), {
  partitions: KAFKA_PARTITIONS,
  testTimeoutMs: 30_000,
  waitTimeoutMs: 20_000,
});

eventBusContract(
  'kafka',
  async () => testKafkaBus(),
  // The mock completes a group rejoin only after a session timeout (30 s), sometimes two: a second member joining
  // can take a minute to settle (a CI run exceeded 90 s for the whole split test).
  { partitions: KAFKA_PARTITIONS, testTimeoutMs: 240_000, waitTimeoutMs: 90_000 },
);

// The same contract with the Kafka adapter's pipelined consumption (ingest's raw logs): fetching goes on while
// handlers run, two partitions' handlers at once.
eventBusContract(
  'kafka, pipelined',
  async () => testKafkaBus(),
  { partitions: KAFKA_PARTITIONS, testTimeoutMs: 240_000, waitTimeoutMs: 90_000, extraSubscribeOptions: { pipelined: true, partitionConcurrency: 2 } },
);

describe(KafkaEventBus.name, () => {
  it('reports an unreachable broker as unhealthy', async () => {
    const bus = new KafkaEventBus({ brokers: ['127.0.0.1:1'], clientId: uniqueName('vigil-test') });
    try {
      const h = await bus.health();
      expect(h).toMatchObject({ name: 'kafka', ok: false });
      expect(h.detail).toEqual(expect.any(String));
    } finally {
      await bus.close();
    }
  }, 30_000);

  it('reports vigil_consumer_lag from the fetched high watermark: the backlog while a batch is held, 0 once committed', async () => {
    const bus = testKafkaBus();
    const metrics = new MetricsService('ingest');
    registerConsumerMetrics(metrics, bus);
    const topic = uniqueName('bus_lag');
    const groupId = uniqueName('g_lag');
    const lagLines = async () => (await metrics.render()).split('\n').filter((l) => l.startsWith('vigil_consumer_lag{'));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: InboundMessage[] = [];
    try {
      // one key: all 30 on one partition, published before the group joins
      await bus.publish(topic, Array.from({ length: 30 }, (_, i) => ({ key: 'tenant|203.0.113.7', value: String(i) })));
      const sub = await bus.subscribe({ topic, groupId, maxBatchSize: 10 }, async (batch) => {
        await released;
        seen.push(...batch);
      });
      const held = await waitFor(async () => {
        const lines = await lagLines();
        return lines.length === 1 ? lines[0] : undefined;
      }, { what: 'a lag sample for the held partition', timeoutMs: 60_000 });
      expect(held).toContain(`topic="${topic}"`);
      expect(held).toContain(`group="${groupId}"`);
      expect(held).toMatch(/ 30$/);
      release();
      await waitFor(async () => seen.length === 30 && (await lagLines()).every((l) => / 0$/.test(l)), { what: 'lag 0 after the commit', timeoutMs: 60_000 });
      await sub.close();
      expect(await lagLines()).toEqual([]);
    } finally {
      release();
      await bus.close();
    }
  }, 90_000);

  it('bridges kafkajs warnings to the given logger', async () => {
    const lines: string[] = [];
    const logger = { info: () => undefined, warn: (_o: object, m?: string) => void lines.push(m ?? ''), error: (_o: object, m?: string) => void lines.push(m ?? '') };
    const bus = new KafkaEventBus({ brokers: ['127.0.0.1:1'], clientId: uniqueName('vigil-test'), logger });
    try {
      await bus.health();
      await waitFor(() => lines.some((l) => l.startsWith('kafkajs: ')), { what: 'a kafkajs log line' });
    } finally {
      await bus.close();
    }
  }, 30_000);
});
