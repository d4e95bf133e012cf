import { Module } from '@nestjs/common';
import { PlatformModule } from '@vigil/platform';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuditModule } from './audit/audit.module.js';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { WEBHOOK_DELIVERY_QUEUE } from './webhooks/webhook-queue.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { IncidentsModule } from './incidents/incidents.module.js';

/** The durable queue of outbound webhook deliveries (WORK_QUEUE in the alert and standalone processes). */
export { WEBHOOK_DELIVERY_QUEUE };

/**
 * The alert domain: the anomaly consumer, incidents, the socket.io gateway, signed webhooks and the REST API.
 * Its controllers, consumers and use cases are listed here. They inject what the process shares from the global
 * PlatformModule (EVENT_BUS, STORE, WORK_QUEUE, VIGIL_CONFIG, CLOCK, LOGGER, MetricsService, HealthService) and never
 * import PlatformModule themselves: the standalone process composes this module with the others around one bus and
 * one store.
 */
@Module({
  imports: [IncidentsModule, WebhooksModule, ApiKeysModule, AuditModule, RateLimitModule, DashboardModule],
  controllers: [],
  providers: [],
})
export class AlertModule {}

/** Root module of the alert process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'alert', workQueue: WEBHOOK_DELIVERY_QUEUE }), AlertModule],
})
export class AlertAppModule {}
