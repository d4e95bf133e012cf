import { InProcessEventBus, KafkaEventBus } from '@vigil/platform';
import { eventBusContract, testEndpoints, uniqueName, waitFor } from '@vigil/testing';

const KAFKA_PARTITIONS = 4; // what the Kafka-protocol broker gives an auto-created topic

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

eventBusContract('in-process', async () => new InProcessEventBus({ partitions: KAFKA_PARTITIONS }), {
  partitions: KAFKA_PARTITIONS,
  testTimeoutMs: 30_000,
  waitTimeoutMs: 20_000,
});

eventBusContract(
  'kafka',
  async () => new KafkaEventBus({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('vigil-test'), logger: quiet }),
  { partitions: KAFKA_PARTITIONS, testTimeoutMs: 90_000, waitTimeoutMs: 60_000 },
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
