import { jest } from '@jest/globals';
import { KafkaEventBus, MetricsService, partitionForKey, registerConsumerMetrics, type InboundMessage } from '@vigil/platform';
import { uniqueName, waitFor } from '@vigil/testing';
import { testKafkaBus } from '../fixtures/kafka-bus.js';

/**
 * A consumer whose next offset retention has already deleted (a group far behind, or a detector restoring a
 * checkpoint that resumes from an offset the broker no longer holds) gets "offset out of range" and kafkajs restarts
 * it from the earliest offset held: the messages in between are skipped. The Kafka adapter counts each reset
 * (`vigil_consumer_offset_resets_total`), so the loss is visible. The dev and CI broker (librdkafka's mock) keeps
 * about 5 MiB per partition, so writing 12 MiB to one partition deletes its first offsets.
 */
jest.setTimeout(120_000);


describe(`${KafkaEventBus.name} offset resets`, () => {
  let bus: KafkaEventBus;

  beforeEach(() => {
    bus = testKafkaBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  it('counts a reset when the offset a subscriber starts from was deleted by retention', async () => {
    const topic = uniqueName('bus_reset');
    const groupId = uniqueName('g_reset');
    const key = 'one-key';
    const value = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 12; i++) await bus.publish(topic, Array.from({ length: 16 }, () => ({ key, value })));
    const partition = partitionForKey(key, 4);
    expect(bus.offsetResets()).toEqual([]);

    const seen: InboundMessage[] = [];
    const sub = await bus.subscribe(
      { topic, groupId, maxBatchSize: 16, onAssigned: (ps) => (ps.includes(partition) ? { [partition]: '0' } : undefined) },
      async (batch) => void seen.push(...batch),
    );
    await waitFor(() => seen.some((m) => m.partition === partition), { what: 'a message of the written partition', timeoutMs: 90_000 });
    await sub.close();

    const first = Number(seen.filter((m) => m.partition === partition)[0]!.offset);
    expect(first).toBeGreaterThan(0); // offset 0 was gone: the consumer restarted from the earliest held
    expect(bus.offsetResets()).toEqual([{ topic, partition, group: groupId, resets: 1 }]);
    const metrics = new MetricsService('test');
    registerConsumerMetrics(metrics, bus);
    expect(await metrics.render()).toContain(`vigil_consumer_offset_resets_total{topic="${topic}",partition="${partition}",group="${groupId}",service="test"} 1`);
  });
});
