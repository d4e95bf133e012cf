import { Module } from '@nestjs/common';
import { PlatformModule } from '@vigil/platform';

/**
 * The detector domain: the access-event consumer, per-entity baselines and the detectors, the anomaly producer.
 * Its controllers, consumers and use cases are listed here. They inject what the process shares from the global
 * PlatformModule (EVENT_BUS, STORE, VIGIL_CONFIG, CLOCK, LOGGER, MetricsService, HealthService) and never import
 * PlatformModule themselves: the standalone process composes this module with the others around one bus and one store.
 */
@Module({
  imports: [],
  controllers: [],
  providers: [],
})
export class DetectorModule {}

/** Root module of the detector process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'detector' }), DetectorModule],
})
export class DetectorAppModule {}
