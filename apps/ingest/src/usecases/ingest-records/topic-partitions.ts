import kafkajs from 'kafkajs';
import type { EventBus, VigilConfig } from '@vigil/platform';

const { Kafka, logLevel } = kafkajs;

/** How many partitions a topic has; null when unknown (topic not created yet, broker unreachable, in-process bus). */
export interface TopicPartitionCounts {
  partitionCount(topic: string): Promise<number | null>;
}

/** A bus that can tell a topic's partition count itself (duck-typed: the EventBus port has no such method yet). */
type BusWithPartitionCounts = EventBus & Partial<TopicPartitionCounts>;

/** A known count is looked up again after this long (a topic's partitions are only ever added, and rarely). */
export const PARTITION_COUNT_TTL_MS = 30_000;
/** After a failed or empty lookup, the next one waits this long (meanwhile callers get null). */
export const PARTITION_COUNT_RETRY_MS = 5_000;
const LOOKUP_TIMEOUT_MS = 3_000;

/**
 * Partition counts from the Kafka cluster's metadata (kafkajs admin, one short connection per lookup), cached per topic
 * for PARTITION_COUNT_TTL_MS. Lookups are serialised per topic and awaited by the caller (no background work is left
 * behind at shutdown); a failed one answers null and is retried after PARTITION_COUNT_RETRY_MS.
 */
export class KafkaTopicPartitions implements TopicPartitionCounts {
  private readonly kafka: InstanceType<typeof Kafka>;
  private readonly cache = new Map<string, { count: number | null; until: number; pending: Promise<number | null> | null }>();

  constructor(
    brokers: string[],
    clientId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: LOOKUP_TIMEOUT_MS, requestTimeout: LOOKUP_TIMEOUT_MS, retry: { retries: 0 } });
  }

  async partitionCount(topic: string): Promise<number | null> {
    let entry = this.cache.get(topic);
    if (entry && (entry.until > this.now() || entry.pending)) return entry.pending ?? entry.count;
    if (!entry) this.cache.set(topic, (entry = { count: null, until: 0, pending: null }));
    const e = entry;
    e.pending = this.lookup(topic).then((count) => {
      e.count = count;
      e.until = this.now() + (count === null ? PARTITION_COUNT_RETRY_MS : PARTITION_COUNT_TTL_MS);
      e.pending = null;
      return count;
    });
    return e.pending;
  }

  private async lookup(topic: string): Promise<number | null> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      return n > 0 ? n : null;
    } catch {
      return null;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * Where ingest learns the access-events topic's partition count: the bus itself if it can tell (a bus wrapper, or a
 * future port method), else the Kafka cluster's metadata when the bus is Kafka; null (no envelopes, one event per
 * message) for the in-process bus.
 */
export function partitionCountsFor(bus: EventBus, config: VigilConfig): TopicPartitionCounts | null {
  const b = bus as BusWithPartitionCounts;
  if (typeof b.partitionCount === 'function') return { partitionCount: (topic) => b.partitionCount!(topic) };
  if (bus.kind === 'kafka' && config.bus.kind === 'kafka') return new KafkaTopicPartitions(config.bus.brokers, `${config.bus.clientId}-partitions`);
  return null;
}
