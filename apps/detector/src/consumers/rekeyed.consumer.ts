import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_BUS, LOGGER, type EventBus, type Subscription } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/** Consumes the re-key topic (keyed by tenant + entity type + entity): token, endpoint, token×IP and tenant windows. */
@Injectable()
export class RekeyedConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    this.log = logger.child({ component: 'rekeyed-consumer' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const topic = this.detect.topic('rekeyed');
    const groupId = this.detect.groupId('rekeyed');
    this.subscription = await this.bus.subscribe(
      { topic, groupId, maxBatchSize: 1000, onAssigned: (ps) => this.detect.assigned('rekeyed', ps), onRevoked: (ps) => this.detect.revoked('rekeyed', ps) },
      (messages, ctx) => this.detect.handleRekeyed(messages, ctx.partition),
    );
    this.log.info({ topic, groupId }, 'consuming re-keyed entity windows');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }
}
