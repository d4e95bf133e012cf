import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Logger } from 'pino';
import { CLOCK, systemClock, type Clock } from '../clock/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/config.js';
import { HealthController } from '../health/health.controller.js';
import { HealthService } from '../health/health.service.js';
import { createLogger, LOGGER } from '../logging/logger.js';
import { MetricsController } from '../metrics/metrics.controller.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EVENT_BUS, type EventBus } from '../ports/event-bus.js';
import { STORE, type Store } from '../ports/store.js';
import { WORK_QUEUE, type RetryPolicy, type WorkQueue } from '../ports/work-queue.js';
import { isConsumerLagSource, registerConsumerMetrics } from '../bus/consumer-lag.js';
import { createEventBus, createStore, createWorkQueue } from '../runtime/adapters.js';
import { processConfig } from '../runtime/process-config.js';
import { PlatformLifecycle } from './platform-lifecycle.js';

export type ServiceName = 'ingest' | 'detector' | 'alert' | 'standalone';

export interface WorkQueueSpec {
  name: string;
  retry: RetryPolicy;
}

export interface PlatformOptions {
  service: ServiceName;
  /** The durable work queue this process owns, provided as WORK_QUEUE (alert and standalone: webhook deliveries). */
  workQueue?: WorkQueueSpec;
  /**
   * Path prefixes whose request bodies the platform leaves unread, for controllers that stream their body
   * (ingest's POST /v1/logs). Every other route gets JSON and urlencoded bodies parsed (up to 1 MB).
   */
  rawBodyRoutes?: string[];
  /** Tests only: use this configuration instead of the process environment. */
  config?: VigilConfig;
  /** Tests only: use this logger instead of one writing JSON to stdout. */
  logger?: Logger;
}

export const PLATFORM_OPTIONS = Symbol('PLATFORM_OPTIONS');

/**
 * The shared infrastructure of one process: config, clock, logger, event bus, store (migrated on start),
 * optionally the work queue, metrics, /health and /metrics, and the ordered shutdown.
 *
 * Import it once, in the root module of an app (`IngestAppModule`, `StandaloneModule`, ...). It is global, so the
 * domain modules inject `EVENT_BUS`, `STORE`, `VIGIL_CONFIG`, `CLOCK`, `LOGGER`, `MetricsService` and `HealthService`
 * without importing it, and a process composed of several domain modules still has one bus and one store.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: PLATFORM_OPTIONS, useValue: options },
      { provide: VIGIL_CONFIG, useFactory: (): VigilConfig => options.config ?? processConfig() },
      { provide: CLOCK, useValue: systemClock },
      {
        provide: LOGGER,
        inject: [VIGIL_CONFIG],
        useFactory: (config: VigilConfig): Logger => options.logger ?? createLogger({ service: options.service, level: config.log.level }),
      },
      {
        provide: EVENT_BUS,
        inject: [VIGIL_CONFIG, LOGGER, CLOCK],
        useFactory: (config: VigilConfig, logger: Logger, clock: Clock): Promise<EventBus> =>
          createEventBus(config, logger.child({ component: 'event-bus' }), clock),
      },
      {
        provide: STORE,
        inject: [VIGIL_CONFIG, LOGGER, CLOCK],
        useFactory: (config: VigilConfig, logger: Logger, clock: Clock): Promise<Store> => openStore(config, logger, clock),
      },
      {
        provide: MetricsService,
        inject: [EVENT_BUS],
        useFactory: (bus: EventBus): MetricsService => {
          const metrics = new MetricsService(options.service);
          // vigil_consumer_lag{topic,partition,group}, what the autoscalers read (deploy/k8s), and
          // vigil_consumer_offset_resets_total{topic,partition,group}, messages skipped because retention deleted them first
          if (isConsumerLagSource(bus)) registerConsumerMetrics(metrics, bus);
          return metrics;
        },
      },
      {
        provide: HealthService,
        inject: [CLOCK, EVENT_BUS, STORE, { token: WORK_QUEUE, optional: true }],
        useFactory: (clock: Clock, bus: EventBus, store: Store, queue: WorkQueue<unknown> | undefined): HealthService => {
          const health = new HealthService(options.service, clock);
          health.register({ name: 'event-bus', kind: bus.kind, health: () => bus.health() });
          health.register({ name: 'store', kind: store.kind, health: () => store.health() });
          if (queue) health.register({ name: 'work-queue', kind: queue.kind, health: () => queue.health() });
          return health;
        },
      },
      PlatformLifecycle,
    ];
    const exported: DynamicModule['exports'] = [VIGIL_CONFIG, CLOCK, LOGGER, EVENT_BUS, STORE, MetricsService, HealthService];

    const queueSpec = options.workQueue;
    if (queueSpec) {
      providers.push({
        provide: WORK_QUEUE,
        inject: [VIGIL_CONFIG, LOGGER, CLOCK],
        useFactory: (config: VigilConfig, logger: Logger, clock: Clock): Promise<WorkQueue<unknown>> =>
          createWorkQueue(config, queueSpec.name, queueSpec.retry, logger.child({ component: 'work-queue', queue: queueSpec.name }), clock),
      });
      exported.push(WORK_QUEUE);
    }

    return {
      module: PlatformModule,
      global: true,
      controllers: [HealthController, MetricsController],
      providers,
      exports: exported,
    };
  }
}

async function openStore(config: VigilConfig, logger: Logger, clock: Clock): Promise<Store> {
  const store = await createStore(config, clock);
  try {
    const applied = await store.migrate();
    logger.info({ component: 'store', store: store.kind, applied }, applied.length ? 'store: migrations applied' : 'store: schema up to date');
    return store;
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
}
