import type { EventBus } from '@vigil/platform';

/** How many partitions a topic has; null when unknown (topic not created yet, broker unreachable, in-process bus). */
export interface TopicPartitionCounts {
  partitionCount(topic: string): Promise<number | null>;
}

/** A bus that can tell a topic's partition count (KafkaEventBus does; the EventBus port does not require it). */
type BusWithPartitionCounts = EventBus & Partial<TopicPartitionCounts>;

/** A known count is looked up again after this long (a topic's partitions are only ever added, and rarely). */
export const PARTITION_COUNT_TTL_MS = 30_000;
/** After a failed or empty lookup, the next one waits this long (meanwhile callers get null). */
export const PARTITION_COUNT_RETRY_MS = 5_000;

/**
 * Partition counts from `lookup` (the bus's metadata), cached per topic for PARTITION_COUNT_TTL_MS. Concurrent callers
 * share one lookup, which the caller awaits (no background work is left behind at shutdown); a null answer is asked
 * again after PARTITION_COUNT_RETRY_MS.
 */
export class CachedPartitionCounts implements TopicPartitionCounts {
  private readonly cache = new Map<string, { count: number | null; until: number; pending: Promise<number | null> | null }>();

  constructor(
    private readonly lookup: (topic: string) => Promise<number | null>,
    private readonly now: () => number = Date.now,
  ) {}

  async partitionCount(topic: string): Promise<number | null> {
    let entry = this.cache.get(topic);
    if (entry && (entry.until > this.now() || entry.pending)) return entry.pending ?? entry.count;
    if (!entry) this.cache.set(topic, (entry = { count: null, until: 0, pending: null }));
    const e = entry;
    e.pending = this.lookup(topic)
      .catch(() => null)
      .then((count) => {
        e.count = count;
        e.until = this.now() + (count === null ? PARTITION_COUNT_RETRY_MS : PARTITION_COUNT_TTL_MS);
        e.pending = null;
        return count;
      });
    return e.pending;
  }
}

/**
 * Where ingest learns the access-events topic's partition count: the bus, when it can tell (Kafka), cached; null (no
 * envelopes, one event per message) for a bus that cannot (the in-process bus).
 */
export function partitionCountsFor(bus: EventBus): TopicPartitionCounts | null {
  const b = bus as BusWithPartitionCounts;
  if (typeof b.partitionCount !== 'function') return null;
  return new CachedPartitionCounts((topic) => b.partitionCount!(topic));
}
