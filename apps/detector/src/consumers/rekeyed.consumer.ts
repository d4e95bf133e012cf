import { Inject, Injectable } from '@nestjs/common';
import { BusConsumer, EVENT_BUS, LOGGER, type ConsumerPlan, type EventBus } from '@vigil/platform';
import type { Logger } from 'pino';
import { DetectAnomalies } from '../usecases/detect-anomalies/detect-anomalies.usecase.js';

/** Consumes the re-key topic (keyed by tenant + entity type + entity): token, endpoint, token×IP and tenant windows. */
@Injectable()
export class RekeyedConsumer extends BusConsumer {
  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(LOGGER) logger: Logger,
    private readonly detect: DetectAnomalies,
  ) {
    super(bus, logger.child({ component: 'rekeyed-consumer' }));
  }

  protected plan(): ConsumerPlan {
    return {
      options: {
        topic: this.detect.topic('rekeyed'),
        groupId: this.detect.groupId('rekeyed'),
        maxBatchSize: 1000,
        onAssigned: (ps) => this.detect.assigned('rekeyed', ps),
        onRevoked: (ps) => this.detect.revoked('rekeyed', ps),
      },
      handler: (messages, ctx) => this.detect.handleRekeyed(messages, ctx.partition),
      what: 'consuming re-keyed entity windows',
    };
  }
}
