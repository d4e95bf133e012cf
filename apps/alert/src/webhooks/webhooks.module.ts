import { Module } from '@nestjs/common';
import { AuthModule, CLOCK, STORE, VIGIL_CONFIG, type Clock, type Store, type VigilConfig } from '@vigil/platform';
import { AuditModule } from '../audit/audit.module.js';
import { SsrfGuard } from './ssrf-guard.js';
import { SubscriptionCache } from './subscription-cache.js';
import { WebhookDeliveryWorker } from './webhook-delivery.worker.js';
import { IncidentEventsConsumer } from './incident-events.consumer.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Signed, reliable webhooks: subscriptions over REST, `WebhookDispatcher.dispatch` (called by the incident
 * lifecycle), the delivery worker on the process's WORK_QUEUE.
 */
@Module({
  imports: [AuthModule, AuditModule],
  controllers: [WebhooksController],
  providers: [
    {
      provide: SsrfGuard,
      inject: [VIGIL_CONFIG],
      useFactory: (c: VigilConfig) => new SsrfGuard({ allowPrivate: c.webhooks.allowPrivate, allowedCidrs: c.webhooks.allowedCidrs }),
    },
    { provide: SubscriptionCache, inject: [STORE, CLOCK], useFactory: (s: Store, clock: Clock) => new SubscriptionCache(s.webhooks, clock) },
    WebhookDispatcher,
    WebhooksService,
    WebhookDeliveryWorker,
    IncidentEventsConsumer,
  ],
  exports: [WebhookDispatcher],
})
export class WebhooksModule {}
