import { Inject, Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { EVENT_BUS, LOGGER, PlatformModule, STORE, VIGIL_CONFIG, type EventBus, type Store, type VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import { AccessEventsConsumer } from './consumers/access-events.consumer.js';
import { RekeyedConsumer } from './consumers/rekeyed.consumer.js';
import type { DetectorsConfig } from './detectors/detector-config.js';
import { detectorsConfigAtBoot } from './detectors/load-config.js';
import { CHECKPOINT_REPOSITORY, createCheckpointRepository, type CheckpointRepository } from './repositories/checkpoint.repository.js';
import { DetectAnomalies } from './usecases/detect-anomalies/detect-anomalies.usecase.js';

export const DETECTORS_CONFIG = Symbol('DETECTORS_CONFIG');

/** Closes the checkpoint repository after the consumers have closed (and written their last checkpoints). */
@Injectable()
class CheckpointRepositoryCloser implements BeforeApplicationShutdown {
  constructor(@Inject(CHECKPOINT_REPOSITORY) private readonly repo: CheckpointRepository) {}
  async beforeApplicationShutdown(): Promise<void> {
    await this.repo.close();
  }
}

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
    { provide: CHECKPOINT_REPOSITORY, inject: [VIGIL_CONFIG], useFactory: (config: VigilConfig) => createCheckpointRepository(config) },
    {
      provide: DetectAnomalies,
      inject: [EVENT_BUS, STORE, CHECKPOINT_REPOSITORY, VIGIL_CONFIG, DETECTORS_CONFIG, LOGGER],
      useFactory: (bus: EventBus, store: Store, checkpoints: CheckpointRepository, config: VigilConfig, detectors: DetectorsConfig, logger: Logger) =>
        new DetectAnomalies({
          bus,
          store,
          checkpoints,
          settings: config.detector,
          detectors,
          groupPrefix: config.bus.kind === 'kafka' ? config.bus.groupPrefix : 'vigil',
          logger,
          durableOffsets: bus.kind === 'kafka',
        }),
    },
    CheckpointRepositoryCloser,
    AccessEventsConsumer,
    RekeyedConsumer,
  ],
  exports: [DetectAnomalies],
})
export class DetectorModule {}

/** Root module of the detector process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'detector' }), DetectorModule],
})
export class DetectorAppModule {}
