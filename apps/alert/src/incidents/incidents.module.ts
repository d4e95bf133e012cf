import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule, HTTP_APP_SETUP } from '@vigil/platform';
import { AnomaliesConsumer } from '../anomalies/anomalies.consumer.js';
import { AnomaliesController } from '../anomalies/anomalies.controller.js';
import { setupOpenApi } from '../docs/openapi.js';
import { AlertsGateway } from '../gateway/alerts.gateway.js';
import { StreamPublisher } from '../gateway/stream-publisher.js';
import { SilenceCache } from '../silences/silence-cache.js';
import { SilencesController } from '../silences/silences.controller.js';
import { SilencesService } from '../silences/silences.service.js';
import { StatsController } from '../stats/stats.controller.js';
import { ChangeIncidentStatus } from './change-incident-status.usecase.js';
import { DomainErrorFilter } from './domain-errors.js';
import { IncidentQueries } from './incident-queries.js';
import { incidentPolicyProvider } from './incident-policy.js';
import { IncidentSweeper } from './incident-sweeper.js';
import { IncidentsController } from './incidents.controller.js';
import { OutboxRelay } from './outbox-relay.js';
import { ProcessAnomalies } from './process-anomalies.usecase.js';

/**
 * Incidents from anomalies, the `/alerts` live stream, and the REST API over incidents, anomalies, silences and stats
 * (OpenAPI at /docs). Part of AlertModule; injects the platform's global EVENT_BUS, STORE, CLOCK, LOGGER, config.
 */
@Module({
  imports: [AuthModule],
  controllers: [IncidentsController, AnomaliesController, StatsController, SilencesController],
  providers: [
    incidentPolicyProvider,
    StreamPublisher,
    ProcessAnomalies,
    ChangeIncidentStatus,
    IncidentQueries,
    IncidentSweeper,
    OutboxRelay,
    AnomaliesConsumer,
    AlertsGateway,
    SilencesService,
    SilenceCache,
    { provide: APP_FILTER, useClass: DomainErrorFilter },
    { provide: HTTP_APP_SETUP, useValue: setupOpenApi },
  ],
  exports: [StreamPublisher, ProcessAnomalies, IncidentSweeper, OutboxRelay],
})
export class IncidentsModule {}
