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
import { formatFromHeader } from '../parsers/index.js';
import { IngestRecords, type RawRecord } from '../usecases/ingest-records/ingest-records.usecase.js';

/**
 * Raw-log partitions handled at once. Batches share no state across partitions (parse, store, publish are per batch
 * and idempotent by event id), so several partitions overlap their ClickHouse inserts and publishes; each partition's
 * own batches still run and commit in order. In effect min(this, partitions held).
 */
export const RAW_LOG_PARTITION_CONCURRENCY = 8;

/**
 * Consumes raw gateway logs from the bus (Kafka topic `vigil.access-logs.raw` by default) in batches.
 * Offsets are committed by the bus only after the batch is stored and published; if that fails the handler
 * throws, and the bus redelivers the same batch after a backoff. Headers `tenant` and `format` override the defaults.
 */
@Injectable()
export class RawLogsConsumer extends BusConsumer {
  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly ingest: IngestRecords,
  ) {
    super(bus, logger.child({ component: 'raw-logs-consumer' }));
  }

  protected plan(): ConsumerPlan {
    const options: KafkaSubscribeOptions = {
      topic: this.config.ingest.rawTopic,
      groupId: `${this.config.groupPrefix}-ingest`,
      maxBatchSize: this.config.ingest.batchMaxEvents,
      partitionConcurrency: RAW_LOG_PARTITION_CONCURRENCY,
    };
    return { options, handler: (messages) => this.handle(messages), what: 'consuming raw gateway logs' };
  }

  async handle(messages: InboundMessage[]): Promise<void> {
    const records: RawRecord[] = messages.map((m) => {
      const format = m.headers['format'] ? formatFromHeader(m.headers['format']) : null;
      return {
        raw: m.value,
        source: `kafka:${m.topic}/${m.partition}@${m.offset}`,
        ...(m.headers['tenant'] ? { tenant: m.headers['tenant'] } : {}),
        ...(format ? { format } : {}),
      };
    });
    try {
      const batch = await this.ingest.execute(records, { tenant: this.config.tenant });
      this.log.debug({ accepted: batch.events.length, rejected: batch.deadLetters.length }, 'batch ingested');
    } catch (err) {
      this.log.warn({ err, messages: messages.length }, 'batch not stored; it will be redelivered');
      throw err;
    }
  }
}
