import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, RequireScopes, type Principal } from '@vigil/platform';
import { parseInput } from '../incidents/domain-errors.js';
import { IncidentQueries, TopStatsQuery } from '../incidents/incident-queries.js';

@ApiTags('stats')
@ApiBearerAuth()
@Controller('v1/stats')
@UseGuards(ApiKeyGuard)
export class StatsController {
  constructor(private readonly queries: IncidentQueries) {}

  @Get('top')
  @RequireScopes('incidents:read')
  @ApiOperation({ summary: 'Top offending IPs, tokens and endpoints (most anomalies) in [from, to)' })
  top(@Req() req: { principal: Principal }, @Query() query: unknown) {
    return this.queries.top(req.principal, parseInput(TopStatsQuery, query));
  }
}
