import { Module } from '@nestjs/common';
import { PlatformModule, type WorkQueueSpec } from '@vigil/platform';
import { IncidentsModule } from './incidents/incidents.module.js';

/** The durable queue of outbound webhook deliveries (WORK_QUEUE in the alert and standalone processes). */
export const WEBHOOK_DELIVERY_QUEUE: WorkQueueSpec = {
  name: 'webhook-deliveries',
  retry: { maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 10 * 60_000 },
};

/**
 * The alert domain: the anomaly consumer, incidents, the socket.io gateway, signed webhooks and the REST API.
 * Its controllers, consumers and use cases are listed here. They inject what the process shares from the global
 * PlatformModule (EVENT_BUS, STORE, WORK_QUEUE, VIGIL_CONFIG, CLOCK, LOGGER, MetricsService, HealthService) and never
 * import PlatformModule themselves: the standalone process composes this module with the others around one bus and
 * one store.
 */
@Module({
  imports: [IncidentsModule],
  controllers: [],
  providers: [],
})
export class AlertModule {}

/** Root module of the alert process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'alert', workQueue: WEBHOOK_DELIVERY_QUEUE }), AlertModule],
})
export class AlertAppModule {}
