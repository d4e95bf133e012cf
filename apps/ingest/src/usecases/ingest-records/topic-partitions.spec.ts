import { describe, expect, it } from '@jest/globals';
import type { EventBus, VigilConfig } from '@vigil/platform';
import { KafkaTopicPartitions, PARTITION_COUNT_RETRY_MS, partitionCountsFor } from './topic-partitions.js';

const config = (bus: VigilConfig['bus']) => ({ bus }) as VigilConfig;
const bus = (kind: EventBus['kind'], extra: object = {}) => ({ kind, ...extra }) as unknown as EventBus;

describe(partitionCountsFor.name, () => {
  it('asks the bus when it can tell a topic’s partition count', async () => {
    const asked: string[] = [];
    const counts = partitionCountsFor(bus('kafka', { partitionCount: async (t: string) => (asked.push(t), 12) }), config({ kind: 'kafka', brokers: ['127.0.0.1:1'], clientId: 'c', groupPrefix: 'g' }));
    expect(await counts?.partitionCount('vigil.access-events')).toBe(12);
    expect(asked).toEqual(['vigil.access-events']);
  });

  it('reads Kafka metadata for a Kafka bus, and knows none for the in-process bus', () => {
    expect(partitionCountsFor(bus('kafka'), config({ kind: 'kafka', brokers: ['127.0.0.1:1'], clientId: 'c', groupPrefix: 'g' }))).toBeInstanceOf(KafkaTopicPartitions);
    expect(partitionCountsFor(bus('inprocess'), config({ kind: 'inprocess' }))).toBeNull();
  });
});

describe(KafkaTopicPartitions.name, () => {
  it('answers null while the broker cannot be reached, and asks again only after the retry delay', async () => {
    let now = 1_000_000;
    const counts = new KafkaTopicPartitions(['127.0.0.1:1'], 'spec', () => now);
    const lookups: number[] = [];
    const original = (counts as unknown as { lookup: (t: string) => Promise<number | null> }).lookup.bind(counts);
    (counts as unknown as { lookup: (t: string) => Promise<number | null> }).lookup = (t) => (lookups.push(now), original(t));
    // concurrent callers share one lookup
    expect(await Promise.all([counts.partitionCount('t'), counts.partitionCount('t')])).toEqual([null, null]);
    expect(await counts.partitionCount('t')).toBeNull();
    expect(lookups).toHaveLength(1);
    now += PARTITION_COUNT_RETRY_MS + 1;
    expect(await counts.partitionCount('t')).toBeNull();
    expect(lookups).toHaveLength(2);
  });
});
