import { Module } from '@nestjs/common';
import { AlertModule, WEBHOOK_DELIVERY_QUEUE } from '@vigil/alert/alert.module';
import { DetectorModule } from '@vigil/detector/detector.module';
import { INGEST_RAW_BODY_ROUTES, IngestModule } from '@vigil/ingest/ingest.module';
import { PlatformModule } from '@vigil/platform';

/**
 * The three services in one process. With the standalone defaults of the configuration they share the in-process
 * event bus, the SQLite store and the SQLite work queue under VIGIL_DATA_DIR (default `.data/`); one PlatformModule,
 * so one instance of each.
 */
@Module({
  imports: [
    PlatformModule.forRoot({ service: 'standalone', workQueue: WEBHOOK_DELIVERY_QUEUE, rawBodyRoutes: INGEST_RAW_BODY_ROUTES }),
    IngestModule,
    DetectorModule,
    AlertModule,
  ],
})
export class StandaloneModule {}
