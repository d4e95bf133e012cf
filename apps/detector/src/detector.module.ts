import { Module } from '@nestjs/common';
import { CLOCK, EVENT_BUS, LOGGER, MetricsService, PlatformModule, STORE, VIGIL_CONFIG, type Clock, type EventBus, type Store, type VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import { AccessEventsConsumer } from './consumers/access-events.consumer.js';
import { RekeyedConsumer } from './consumers/rekeyed.consumer.js';
import type { DetectorsConfig } from './detectors/detector-config.js';
import { detectorsConfigAtBoot } from './detectors/load-config.js';
import { FeedbackConsumer } from './feedback/feedback.consumer.js';
import { DetectAnomalies } from './usecases/detect-anomalies/detect-anomalies.usecase.js';

export const DETECTORS_CONFIG = Symbol('DETECTORS_CONFIG');

/**
 * The detector domain: the access-event consumer, per-entity baselines and the detectors, the anomaly producer.
 * Its controllers, consumers and use cases are listed here. They inject what the process shares from the global
 * PlatformModule (EVENT_BUS, STORE, VIGIL_CONFIG, CLOCK, LOGGER, MetricsService, HealthService) and never import
 * PlatformModule themselves: the standalone process composes this module with the others around one bus and one store.
 */
@Module({
  imports: [],
  controllers: [],
  providers: [
    {
      provide: DETECTORS_CONFIG,
      inject: [VIGIL_CONFIG, LOGGER],
      useFactory: (config: VigilConfig, logger: Logger): DetectorsConfig => detectorsConfigAtBoot(config.detector.configPath, logger),
    },
    {
      provide: DetectAnomalies,
      inject: [EVENT_BUS, STORE, VIGIL_CONFIG, DETECTORS_CONFIG, LOGGER, CLOCK, MetricsService],
      useFactory: (bus: EventBus, store: Store, config: VigilConfig, detectors: DetectorsConfig, logger: Logger, clock: Clock, metrics: MetricsService) =>
        new DetectAnomalies({
          bus,
          store,
          clock,
          settings: config.detector,
          detectors,
          groupPrefix: config.groupPrefix,
          logger,
          durableOffsets: bus.kind === 'kafka',
          metrics,
        }),
    },
    AccessEventsConsumer,
    RekeyedConsumer,
    FeedbackConsumer,
  ],
  exports: [DetectAnomalies],
})
export class DetectorModule {}

/** Root module of the detector process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'detector' }), DetectorModule],
})
export class DetectorAppModule {}
