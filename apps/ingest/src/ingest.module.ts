import { Module } from '@nestjs/common';
import { AuthModule, PlatformModule, RetentionService } from '@vigil/platform';
import { RawLogsConsumer } from './consumers/raw-logs.consumer.js';
import { HttpIntake } from './http/http-intake.service.js';
import { LogsController } from './http/logs.controller.js';
import { IngestRecords } from './usecases/ingest-records/ingest-records.usecase.js';

/**
 * The ingest domain: HTTP intake, the raw-log consumer, the format parsers and dead-lettering.
 * Its controllers, consumers and use cases are listed here. They inject what the process shares from the global
 * PlatformModule (EVENT_BUS, STORE, VIGIL_CONFIG, CLOCK, LOGGER, MetricsService, HealthService) and never import
 * PlatformModule themselves: the standalone process composes this module with the others around one bus and one store.
 */
@Module({
  imports: [AuthModule],
  controllers: [LogsController],
  providers: [IngestRecords, HttpIntake, RawLogsConsumer, RetentionService],
  exports: [IngestRecords],
})
export class IngestModule {}

/** Routes that stream their own request body (NDJSON, text, gzip, many MB): the platform's body parsers skip them. */
export const INGEST_RAW_BODY_ROUTES = ['/v1/logs'];

/** Root module of the ingest process. */
@Module({
  imports: [PlatformModule.forRoot({ service: 'ingest', rawBodyRoutes: INGEST_RAW_BODY_ROUTES }), IngestModule],
})
export class IngestAppModule {}
