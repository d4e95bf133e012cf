import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_BUS, LOGGER, type EventBus, type Subscription } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/**
 * Consumes `vigil.access-events` (keyed by tenant + IP, so each IP's state lives on one instance). Assignment restores
 * the partition from its checkpoint and resumes after it; revocation checkpoints. Offsets are committed by the bus only
 * after the batch's anomalies and re-keyed partials are written.
 */
@Injectable()
export class AccessEventsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    this.log = logger.child({ component: 'access-events-consumer' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const topic = this.detect.topic('access');
    const groupId = this.detect.groupId('access');
    this.subscription = await this.bus.subscribe(
      { topic, groupId, maxBatchSize: 2000, onAssigned: (ps) => this.detect.assigned('access', ps), onRevoked: (ps) => this.detect.revoked('access', ps) },
      (messages, ctx) => this.detect.handleAccessEvents(messages, ctx.partition),
    );
    this.log.info({ topic, groupId }, 'consuming access events');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }
}
