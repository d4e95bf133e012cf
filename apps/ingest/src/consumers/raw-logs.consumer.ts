import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import {
  EVENT_BUS,
  LOGGER,
  VIGIL_CONFIG,
  type EventBus,
  type InboundMessage,
  type KafkaSubscribeOptions,
  type Subscription,
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
export class RawLogsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly ingest: IngestRecords,
  ) {
    this.log = logger.child({ component: 'raw-logs-consumer' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const groupId = `${this.config.bus.kind === 'kafka' ? this.config.bus.groupPrefix : 'vigil'}-ingest`;
    const options: KafkaSubscribeOptions = {
      topic: this.config.ingest.rawTopic,
      groupId,
      maxBatchSize: this.config.ingest.batchMaxEvents,
      partitionConcurrency: RAW_LOG_PARTITION_CONCURRENCY,
    };
    this.subscription = await this.bus.subscribe(options, (messages) => this.handle(messages));
    this.log.info({ topic: this.config.ingest.rawTopic, groupId }, 'consuming raw gateway logs');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
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
