import { Inject, Injectable } from '@nestjs/common';
import {
  BusConsumer,
  EVENT_BUS,
  LOGGER,
  VIGIL_CONFIG,
  type ConsumerPlan,
  type EventBus,
  type InboundMessage,
  type KafkaSubscribeOptions,
  type VigilConfig,
} from '@vigil/platform';
import type { Logger } from 'pino';
import { MicroBatcher } from '../batching/micro-batcher.js';
import { formatFromHeader } from '../parsers/index.js';
import { IngestRecords, type RawRecord } from '../usecases/ingest-records/ingest-records.usecase.js';

/**
 * Raw-log partitions handled at once. Batches share no state across partitions (parse, store, publish are per batch
 * and idempotent by event id), so several partitions overlap their ClickHouse inserts and publishes; each partition's
 * own batches still run and commit in order. In effect min(this, partitions held).
 */
export const RAW_LOG_PARTITION_CONCURRENCY = 8;

/**
 * The batches of different partitions that reach the handler within this long of each other (those of one fetch,
 * in practice) are ingested together: one parse, one ClickHouse insert and one publish instead of one per partition.
 * Fewer, larger inserts cost ClickHouse less per row (one part each instead of one per partition, fewer merges).
 */
export const RAW_LOG_MERGE_WAIT_MS = 10;

/**
 * Consumes raw gateway logs from the bus (Kafka topic `vigil.access-logs.raw` by default) in batches.
 * Offsets are committed by the bus only after the batch is stored and published; if that fails the handler
 * throws, and the bus redelivers the same batch after a backoff. Headers `tenant` and `format` override the defaults.
 *
 * Partitions' batches are merged (up to VIGIL_INGEST_BATCH_MAX_EVENTS records, or what arrives within
 * RAW_LOG_MERGE_WAIT_MS) into one ingest; each partition's handler resolves only once its merged batch is stored
 * and published, and throws if that failed, so every partition still commits only what is stored and published.
 */
@Injectable()
export class RawLogsConsumer extends BusConsumer {
  private readonly merged: MicroBatcher<RawRecord, void>;

  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly ingest: IngestRecords,
  ) {
    super(bus, logger.child({ component: 'raw-logs-consumer' }));
    this.merged = new MicroBatcher<RawRecord, void>({
      maxItems: config.ingest.batchMaxEvents,
      maxWaitMs: RAW_LOG_MERGE_WAIT_MS,
      // merged batches need no order between them: a partition hands over its next batch only after its last one
      concurrency: RAW_LOG_PARTITION_CONCURRENCY,
      flush: (groups) => this.ingestMerged(groups),
    });
  }

  protected plan(): ConsumerPlan {
    const options: KafkaSubscribeOptions = {
      topic: this.config.ingest.rawTopic,
      groupId: `${this.config.groupPrefix}-ingest`,
      maxBatchSize: this.config.ingest.batchMaxEvents,
      partitionConcurrency: RAW_LOG_PARTITION_CONCURRENCY,
      // Fetch (and parse) the next batches while the last ones' inserts and publishes are in flight; each partition
      // still commits in order, only what is stored and published.
      pipelined: true,
    };
    return { options, handler: (messages) => this.handle(messages), what: 'consuming raw gateway logs' };
  }

  /** Resolves once these messages are stored and published (with the other partitions' batches merged with them). */
  handle(messages: InboundMessage[]): Promise<void> {
    return this.merged.add(messages.map(toRawRecord));
  }

  private async ingestMerged(groups: RawRecord[][]): Promise<void[]> {
    const records = groups.length === 1 ? groups[0]! : groups.flat();
    try {
      const batch = await this.ingest.execute(records, { tenant: this.config.tenant });
      this.log.debug({ partitions: groups.length, accepted: batch.events.length, rejected: batch.deadLetters.length }, 'batch ingested');
    } catch (err) {
      this.log.warn({ err, messages: records.length, partitions: groups.length }, 'batch not stored; it will be redelivered');
      throw err;
    }
    return groups.map(() => undefined);
  }
}

function toRawRecord(m: InboundMessage): RawRecord {
  const h = m.headers;
  // headers are rare on raw logs: no per-record lookups or spreads when there are none
  for (const _ in h) return withHeaders(new KafkaRawRecord(m), h);
  return new KafkaRawRecord(m);
}

function withHeaders(r: KafkaRawRecord, h: Record<string, string>): RawRecord {
  const format = h['format'] ? formatFromHeader(h['format']) : null;
  if (h['tenant']) r.tenant = h['tenant'];
  if (format) r.format = format;
  return r;
}

/**
 * A raw record from Kafka. Its `source` (kept on a dead letter) is only built when read: most records never need it,
 * and formatting it for each one was measurable per record. Its `raw` text too: the Kafka bus decodes a message's
 * value when it is read, so reading it only when the record is parsed (once) keeps a batch's raw strings from living
 * through the whole batch (see the bus's KafkaInboundMessage).
 */
class KafkaRawRecord implements RawRecord {
  tenant?: string;
  format?: RawRecord['format'];

  constructor(private readonly m: InboundMessage) {}

  get raw(): string {
    return this.m.value;
  }

  get source(): string {
    return `kafka:${this.m.topic}/${this.m.partition}@${this.m.offset}`;
  }
}
