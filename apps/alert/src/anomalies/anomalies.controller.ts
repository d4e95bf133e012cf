import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Anomaly } from '@vigil/contracts';
import { ApiKeyGuard, RequireScopes, type Principal } from '@vigil/platform';
import { parseInput } from '../incidents/domain-errors.js';
import { IncidentQueries, ListAnomaliesQuery } from '../incidents/incident-queries.js';

@ApiTags('anomalies')
@ApiBearerAuth()
@Controller('v1/anomalies')
@UseGuards(ApiKeyGuard)
export class AnomaliesController {
  constructor(private readonly queries: IncidentQueries) {}

  @Get()
  @RequireScopes('incidents:read')
  @ApiOperation({ summary: 'Anomalies detected in [from, to), newest first; filters: severity (minimum), detector, entityType, entity, limit' })
  list(@Req() req: { principal: Principal }, @Query() query: unknown): Promise<{ items: Anomaly[] }> {
    return this.queries.anomalies(req.principal, parseInput(ListAnomaliesQuery, query));
  }
}
