import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { BusConsumer, EVENT_BUS, LOGGER, type ConsumerPlan, type EventBus } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/**
 * Consumes false-positive verdicts (`vigil.detector-feedback`, published by the alert service). Every detector
 * instance reads the whole topic from its beginning in a group of its own: the entity may live on any instance, now
 * or after a rebalance, and replaying old verdicts is harmless (expired suppressions and flagged windows already
 * left behind by event time are pruned). On the in-process bus, the checkpoints carry them across a restart.
 */
@Injectable()
export class FeedbackConsumer extends BusConsumer {
  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    super(bus, logger.child({ component: 'feedback-consumer' }));
  }

  protected plan(): ConsumerPlan {
    return {
      options: { topic: this.detect.feedbackTopic, groupId: this.detect.feedbackGroupId(randomUUID().slice(0, 8)), fromBeginning: true, maxBatchSize: 500 },
      handler: async (messages) => this.detect.handleFeedback(messages),
      what: 'consuming false-positive feedback',
    };
  }
}
