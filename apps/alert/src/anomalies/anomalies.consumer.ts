import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Anomaly, validate } from '@vigil/contracts';
import { CLOCK, EVENT_BUS, LOGGER, VIGIL_CONFIG, type Clock, type EventBus, type InboundMessage, type KafkaSubscribeOptions, type Subscription, type VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import { ProcessAnomalies } from '../incidents/process-anomalies.usecase.js';

export interface AnomalyConsumerOptions {
  topic: string;
  groupId: string;
}
/** Optional override of topic / consumer group (tests); default the detector's anomalies topic, group `<prefix>-alert`. */
export const ANOMALY_CONSUMER_OPTIONS = Symbol('ANOMALY_CONSUMER_OPTIONS');

/**
 * Consumes the anomalies topic (`vigil.anomalies` unless VIGIL_DETECTOR_ANOMALIES_TOPIC says otherwise) in batches. Offsets commit only after the batch is grouped and stored; a failure throws
 * and the bus redelivers (processing is idempotent by anomaly id). Malformed messages are logged and skipped.
 */
@Injectable()
export class AnomaliesConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;
  private readonly options: AnomalyConsumerOptions;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly process: ProcessAnomalies,
    @Optional() @Inject(ANOMALY_CONSUMER_OPTIONS) options?: AnomalyConsumerOptions,
    @Optional() @Inject(CLOCK) private readonly clock?: Clock,
  ) {
    this.log = logger.child({ component: 'anomalies-consumer' });
    // The topic the detector publishes on (VIGIL_DETECTOR_ANOMALIES_TOPIC, default vigil.anomalies): one setting, so the
    // two ends cannot disagree.
    this.options = options ?? { topic: config.detector.anomaliesTopic, groupId: `${config.groupPrefix}-alert` };
  }

  async onApplicationBootstrap(): Promise<void> {
    // Every partition a fetch brought, in one call (Kafka; the in-process bus ignores it): a batch's cost is mostly its
    // store rounds (one ClickHouse insert costs about the same for one row or a hundred), so anomalies of several
    // partitions share one set of them instead of each partition paying its own; batches that share an incident entity
    // still run one after another (ProcessAnomalies' KeyedSequencer) should calls overlap.
    const options: KafkaSubscribeOptions = { ...this.options, maxBatchSize: 500, mergePartitions: true };
    this.subscription = await this.bus.subscribe(options, (messages) => this.handle(messages));
    this.log.info(this.options, 'consuming anomalies');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  async handle(messages: InboundMessage[]): Promise<void> {
    if (this.clock && messages.length && this.log.isLevelEnabled('debug')) {
      // How long the batch waited on the bus (append → handler), next to ProcessAnomalies' stage timings.
      const oldest = Math.min(...messages.map((m) => m.timestamp));
      this.log.debug({ messages: messages.length, partition: messages[0]?.partition, queuedMs: this.clock.now() - oldest }, 'anomaly batch received');
    }
    const anomalies: Anomaly[] = [];
    for (const m of messages) {
      let json: unknown;
      try {
        json = JSON.parse(m.value);
      } catch {
        json = undefined;
      }
      const r = validate(Anomaly, json);
      if (r.ok) anomalies.push(r.value);
      else this.log.warn({ source: `${m.topic}/${m.partition}@${m.offset}`, reason: r.reason }, 'malformed anomaly skipped');
    }
    await this.process.execute(anomalies);
  }
}
