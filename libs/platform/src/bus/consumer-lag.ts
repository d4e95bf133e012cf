import { Counter, Gauge } from 'prom-client';
import type { MetricsService } from '../metrics/metrics.service.js';

/**
 * Consumer lag: messages of a partition the group has not processed yet, i.e. the partition's high watermark (the
 * offset the next produced message will get) minus the group's next offset to process (its committed offset).
 *
 * Each adapter reports what it knows without admin calls: the Kafka adapter remembers, per partition it is
 * assigned, the high watermark the broker sent with the last fetched batch and the offset it committed after it;
 * the in-process adapter computes it from its own logs. Exposed as the gauge `vigil_consumer_lag{topic,partition,group}`,
 * the metric the deployment's autoscalers read (deploy/k8s).
 */
export interface ConsumerLagSample {
  topic: string;
  partition: number;
  group: string;
  /** Messages not processed yet (≥ 0). */
  lag: number;
}

/**
 * Offset resets: the group's next offset of a partition was no longer on the broker (retention deleted it while the
 * group was behind or away), so the consumer restarted from the earliest offset still held and the messages in
 * between were never processed. kafkajs logs it ("Offset out of range, resetting to default offset"); the Kafka
 * adapter also counts it, exposed as `vigil_consumer_offset_resets_total{topic,partition,group}`.
 */
export interface OffsetResetSample {
  topic: string;
  partition: number;
  group: string;
  resets: number;
}

/** Something that can tell its consumer lag right now (the event bus adapters), and its offset resets if it has any. */
export interface ConsumerLagSource {
  consumerLag(): ConsumerLagSample[];
  offsetResets?(): OffsetResetSample[];
}

export const CONSUMER_LAG_METRIC = 'vigil_consumer_lag';
export const OFFSET_RESETS_METRIC = 'vigil_consumer_offset_resets_total';

export function isConsumerLagSource(x: unknown): x is ConsumerLagSource {
  return typeof x === 'object' && x !== null && typeof (x as { consumerLag?: unknown }).consumerLag === 'function';
}

/**
 * Lag from a high watermark and the next offset to process (decimal strings, as Kafka sends them). Never negative:
 * a watermark from an older fetch than the commit reads as "caught up". Malformed offsets count as no lag.
 */
export function lagBetween(highWatermark: string, nextOffset: string): number {
  if (!/^-?\d+$/.test(highWatermark) || !/^-?\d+$/.test(nextOffset)) return 0;
  const lag = BigInt(highWatermark) - BigInt(nextOffset);
  return lag > 0n ? Number(lag) : 0;
}

/**
 * Registers the consumer metrics of `source` in the registry of `metrics`, read from it at every scrape:
 * `vigil_consumer_lag` (a partition this process no longer holds disappears from /metrics) and, when the source
 * counts them, `vigil_consumer_offset_resets_total`. A second call for the same registry is a no-op.
 */
export function registerConsumerMetrics(metrics: MetricsService, source: ConsumerLagSource): void {
  if (metrics.registry.getSingleMetric(CONSUMER_LAG_METRIC) !== undefined) return;
  const labels = (s: { topic: string; partition: number; group: string }) => ({ topic: s.topic, partition: String(s.partition), group: s.group });
  new Gauge<'topic' | 'partition' | 'group'>({
    name: CONSUMER_LAG_METRIC,
    help: 'Messages of a partition not yet processed by the consumer group (high watermark minus committed offset), per partition held by this process',
    labelNames: ['topic', 'partition', 'group'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of source.consumerLag()) this.set(labels(s), s.lag);
    },
  });
  const resets = source.offsetResets?.bind(source);
  if (!resets) return;
  new Counter<'topic' | 'partition' | 'group'>({
    name: OFFSET_RESETS_METRIC,
    help: 'Times a consumer group found its next offset of a partition deleted by retention and restarted from the earliest offset held: the messages in between were skipped',
    labelNames: ['topic', 'partition', 'group'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of resets()) this.inc(labels(s), s.resets);
    },
  });
}
