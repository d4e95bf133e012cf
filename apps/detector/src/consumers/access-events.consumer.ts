import { Inject, Injectable } from '@nestjs/common';
import { BusConsumer, EVENT_BUS, LOGGER, type ConsumerPlan, type EventBus } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/**
 * Consumes `vigil.access-events` (keyed by tenant + IP, so each IP's state lives on one instance). Assignment restores
 * the partition from its checkpoint and resumes after it; revocation checkpoints. Offsets are committed by the bus only
 * after the batch's anomalies and re-keyed partials are written.
 */
@Injectable()
export class AccessEventsConsumer extends BusConsumer {
  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    super(bus, logger.child({ component: 'access-events-consumer' }));
  }

  protected plan(): ConsumerPlan {
    return {
      options: {
        topic: this.detect.topic('access'),
        groupId: this.detect.groupId('access'),
        maxBatchSize: 2000,
        onAssigned: (ps) => this.detect.assigned('access', ps),
        onRevoked: (ps) => this.detect.revoked('access', ps),
      },
      handler: (messages, ctx) => this.detect.handleAccessEvents(messages, ctx.partition),
      what: 'consuming access events',
    };
  }
}
