import { describe, expect, it } from '@jest/globals';
import type { EventBus } from '@vigil/platform';
import { CachedPartitionCounts, PARTITION_COUNT_RETRY_MS, PARTITION_COUNT_TTL_MS, partitionCountsFor } from './topic-partitions.js';

const bus = (kind: EventBus['kind'], extra: object = {}) => ({ kind, ...extra }) as unknown as EventBus;

describe(partitionCountsFor.name, () => {
  it('asks the bus when it can tell a topic’s partition count', async () => {
    const asked: string[] = [];
    const counts = partitionCountsFor(bus('kafka', { partitionCount: async (t: string) => (asked.push(t), 12) }));
    expect(await counts?.partitionCount('vigil.access-events')).toBe(12);
    expect(asked).toEqual(['vigil.access-events']);
  });

  it('knows none for a bus that cannot tell (the in-process bus)', () => {
    expect(partitionCountsFor(bus('inprocess'))).toBeNull();
  });
});

describe(CachedPartitionCounts.name, () => {
  it('shares one lookup between concurrent callers and keeps a count for the TTL', async () => {
    let now = 1_000_000;
    const lookups: number[] = [];
    const counts = new CachedPartitionCounts(async () => (lookups.push(now), 6), () => now);
    expect(await Promise.all([counts.partitionCount('t'), counts.partitionCount('t')])).toEqual([6, 6]);
    now += PARTITION_COUNT_TTL_MS - 1;
    expect(await counts.partitionCount('t')).toBe(6);
    expect(lookups).toHaveLength(1);
    now += 2;
    expect(await counts.partitionCount('t')).toBe(6);
    expect(lookups).toHaveLength(2);
  });

  it('answers null while the lookup fails or finds nothing, and asks again only after the retry delay', async () => {
    let now = 1_000_000;
    const answers: (() => Promise<number | null>)[] = [async () => Promise.reject(new Error('broker down')), async () => null, async () => 4];
    const counts = new CachedPartitionCounts(() => answers.shift()!(), () => now);
    expect(await counts.partitionCount('t')).toBeNull();
    expect(await counts.partitionCount('t')).toBeNull();
    expect(answers).toHaveLength(2);
    now += PARTITION_COUNT_RETRY_MS + 1;
    expect(await counts.partitionCount('t')).toBeNull();
    now += PARTITION_COUNT_RETRY_MS + 1;
    expect(await counts.partitionCount('t')).toBe(4);
    expect(answers).toHaveLength(0);
  });
});
