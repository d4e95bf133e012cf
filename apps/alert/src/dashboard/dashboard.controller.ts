import { Controller, Get, Header, Headers, NotFoundException, Param, Query, Redirect, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, RequireScopes, type Principal } from '@vigil/platform';
import type { Response } from 'express';
import { parseInput } from '../incidents/domain-errors.js';
import { loadDashboardAssets, type DashboardAsset } from './dashboard-assets.js';
import { IncidentSeriesQuery, SeriesQuery, type IncidentSeries } from './incident-series.js';

/** The dashboard's pages and scripts (public: they hold no data; every API call they make needs a key). */
@ApiExcludeController()
@Controller()
export class DashboardController {
  private readonly assets: Map<string, DashboardAsset> = loadDashboardAssets();

  @Get()
  @Redirect('/dashboard/', 302)
  root(): void {}

  /** `/dashboard` and `/dashboard/` (Express routing is not strict about the slash); the page uses absolute paths. */
  @Get('dashboard')
  index(@Headers('if-none-match') etag: string | undefined, @Res() res: Response): void {
    this.send('index.html', etag, res);
  }

  @Get('dashboard/:name')
  file(@Param('name') name: string, @Headers('if-none-match') etag: string | undefined, @Res() res: Response): void {
    this.send(name, etag, res);
  }

  @Get('dashboard/vendor/:name')
  vendor(@Param('name') name: string, @Headers('if-none-match') etag: string | undefined, @Res() res: Response): void {
    this.send(`vendor/${name}`, etag, res);
  }

  private send(name: string, ifNoneMatch: string | undefined, res: Response): void {
    const a = this.assets.get(name);
    if (!a) throw new NotFoundException(`no dashboard file ${JSON.stringify(name)}`);
    res.setHeader('Content-Type', a.contentType);
    res.setHeader('ETag', a.etag);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (name === 'index.html') {
      // Everything the page loads is same-origin; the API key never leaves for another origin.
      res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'");
      res.setHeader('Referrer-Policy', 'no-referrer');
    }
    if (ifNoneMatch === a.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).end(a.body);
  }
}

/** GET /v1/incidents/:id/series — the incident detail chart (see incident-series.ts for where each number comes from). */
@ApiTags('incidents')
@ApiBearerAuth()
@Controller('v1/incidents')
@UseGuards(ApiKeyGuard)
export class IncidentSeriesController {
  constructor(private readonly series: IncidentSeriesQuery) {}

  @Get(':id/series')
  @RequireScopes('incidents:read')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "The incident entity's observed value per detector window of one metric, with the baseline band the detector reported" })
  @ApiQuery({ name: 'metric', required: false, description: 'default: the metric most of its anomalies are about' })
  get(@Req() req: { principal: Principal }, @Param('id') id: string, @Query() query: unknown): Promise<IncidentSeries> {
    return this.series.series(req.principal, id, parseInput(SeriesQuery, query));
  }
}
