import { Module } from '@nestjs/common';
import { AuthModule } from '@vigil/platform';
import { DashboardController, IncidentSeriesController } from './dashboard.controller.js';
import { IncidentSeriesQuery } from './incident-series.js';

/**
 * The web dashboard, served by the alert process itself at /dashboard/ (no separate web server): static files plus
 * the one read API only it needs, GET /v1/incidents/:id/series. Everything else it reads through the public REST API
 * and the `/alerts` socket.io namespace with the API key the user signs in with.
 */
@Module({
  imports: [AuthModule],
  controllers: [DashboardController, IncidentSeriesController],
  providers: [IncidentSeriesQuery],
})
export class DashboardModule {}
