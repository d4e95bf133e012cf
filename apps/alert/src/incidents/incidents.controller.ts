import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Incident } from '@vigil/contracts';
import { ApiKeyGuard, RequireScopes, type Page, type Principal } from '@vigil/platform';
import { z } from 'zod';
import { ChangeIncidentStatus } from './change-incident-status.usecase.js';
import { parseInput } from './domain-errors.js';
import { IncidentQueries, ListIncidentsQuery, type IncidentDetail } from './incident-queries.js';

const ReasonBody = z.object({ reason: z.string().trim().min(1).max(1024) });
type AuthedRequest = { principal: Principal };

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('v1/incidents')
@UseGuards(ApiKeyGuard)
export class IncidentsController {
  constructor(
    private readonly queries: IncidentQueries,
    private readonly change: ChangeIncidentStatus,
  ) {}

  @Get()
  @RequireScopes('incidents:read')
  @ApiOperation({ summary: 'Incidents active in a time range, filtered, cursor-paginated by (lastSeen, id)' })
  @ApiQuery({ name: 'from', required: false, description: 'epoch ms; incidents with lastSeen >= from' })
  @ApiQuery({ name: 'to', required: false, description: 'epoch ms; incidents with firstSeen < to' })
  @ApiQuery({ name: 'severity', required: false, enum: ['low', 'medium', 'high', 'critical'], description: 'minimum severity' })
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'acknowledged', 'resolved'] })
  @ApiQuery({ name: 'detector', required: false })
  @ApiQuery({ name: 'entityType', required: false, enum: ['ip', 'token', 'endpoint', 'token_ip', 'tenant'] })
  @ApiQuery({ name: 'entity', required: false })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 50' })
  list(@Req() req: AuthedRequest, @Query() query: unknown): Promise<Page<Incident>> {
    return this.queries.list(req.principal, parseInput(ListIncidentsQuery, query));
  }

  @Get(':id')
  @RequireScopes('incidents:read')
  @ApiOperation({ summary: 'One incident with its anomalies, explanation and sample access events' })
  detail(@Req() req: AuthedRequest, @Param('id') id: string): Promise<IncidentDetail> {
    return this.queries.detail(req.principal, id);
  }

  @Post(':id/acknowledge')
  @HttpCode(200)
  @RequireScopes('incidents:write')
  @ApiOperation({ summary: 'open → acknowledged; body {reason}' })
  acknowledge(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: unknown): Promise<Incident> {
    return this.change.execute(req.principal, id, 'acknowledge', parseInput(ReasonBody, body).reason);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @RequireScopes('incidents:write')
  @ApiOperation({ summary: 'open | acknowledged → resolved; body {reason}' })
  resolve(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: unknown): Promise<Incident> {
    return this.change.execute(req.principal, id, 'resolve', parseInput(ReasonBody, body).reason);
  }

  @Post(':id/false-positive')
  @HttpCode(200)
  @RequireScopes('incidents:write')
  @ApiOperation({ summary: 'Resolve as a false positive: suppresses the entity + detectors for a while and feeds back to the detector' })
  falsePositive(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: unknown): Promise<Incident> {
    return this.change.execute(req.principal, id, 'false_positive', parseInput(ReasonBody, body).reason);
  }
}
