import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Silence } from '@vigil/contracts';
import { ApiKeyGuard, RequireScopes, type Principal } from '@vigil/platform';
import { parseInput } from '../incidents/domain-errors.js';
import { ListSilencesQuery, SilenceInput, SilencesService } from './silences.service.js';

type AuthedRequest = { principal: Principal };

@ApiTags('silences')
@ApiBearerAuth()
@Controller('v1/silences')
@UseGuards(ApiKeyGuard)
export class SilencesController {
  constructor(private readonly silences: SilencesService) {}

  @Post()
  @RequireScopes('incidents:write')
  @ApiOperation({ summary: 'Create a silence or maintenance window: {kind?, matchers[{field, value}], startsAt?, endsAt, reason}' })
  create(@Req() req: AuthedRequest, @Body() body: unknown): Promise<Silence> {
    return this.silences.create(req.principal, parseInput(SilenceInput, body));
  }

  @Get()
  @RequireScopes('incidents:read')
  @ApiOperation({ summary: 'Silences not deleted (?active=true: in force now; ?kind=)' })
  list(@Req() req: AuthedRequest, @Query() query: unknown): Promise<Silence[]> {
    return this.silences.list(req.principal, parseInput(ListSilencesQuery, query));
  }

  @Get(':id')
  @RequireScopes('incidents:read')
  get(@Req() req: AuthedRequest, @Param('id') id: string): Promise<Silence> {
    return this.silences.get(req.principal, id);
  }

  @Put(':id')
  @RequireScopes('incidents:write')
  update(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: unknown): Promise<Silence> {
    return this.silences.update(req.principal, id, parseInput(SilenceInput, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('incidents:write')
  remove(@Req() req: AuthedRequest, @Param('id') id: string): Promise<void> {
    return this.silences.remove(req.principal, id);
  }
}
