import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_BUS, LOGGER, type EventBus, type Subscription } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/**
 * Consumes false-positive verdicts (`vigil.detector-feedback`, published by the alert service). Every detector
 * instance reads the whole topic from its beginning in a group of its own: the entity may live on any instance, now
 * or after a rebalance, and replaying old verdicts is harmless (expired suppressions and flagged windows already
 * left behind by event time are pruned). On the in-process bus, the checkpoints carry them across a restart.
 */
@Injectable()
export class FeedbackConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    this.log = logger.child({ component: 'feedback-consumer' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const topic = this.detect.feedbackTopic;
    const groupId = this.detect.feedbackGroupId(randomUUID().slice(0, 8));
    this.subscription = await this.bus.subscribe({ topic, groupId, fromBeginning: true, maxBatchSize: 500 }, async (messages) => this.detect.handleFeedback(messages));
    this.log.info({ topic, groupId }, 'consuming false-positive feedback');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }
}
