import { randomUUID } from 'node:crypto';
import { Controller, Headers, HttpCode, HttpException, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard, RequireScopes, VIGIL_CONFIG, type Principal, type VigilConfig } from '@vigil/platform';
import { Inject } from '@nestjs/common';
import { formatFromHeader } from '../parsers/index.js';
import { BodyError, readBody, splitBody } from './read-body.js';
import { HttpIntake, SaturatedError, type IntakeResult } from './http-intake.service.js';

/**
 * POST /v1/logs — for gateways that can only POST (Kong http-log, APISIX http-logger, Vector, Fluent Bit).
 * Body: a JSON array, NDJSON, or text lines (`Content-Type: text/plain`), optionally gzip-encoded.
 * Header `X-Vigil-Log-Format` forces a format for the whole body. Needs an API key with `logs:write`.
 * Answers 200 `{accepted, rejected, errors:[{index, reason, message}]}`; every rejected record is dead-lettered.
 */
@Controller('v1/logs')
export class LogsController {
  constructor(
    private readonly intake: HttpIntake,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
  ) {}

  @Post()
  @HttpCode(200)
  @UseGuards(ApiKeyGuard)
  @RequireScopes('logs:write')
  async ingest(
    @Req() req: Request & { principal?: Principal },
    @Res({ passthrough: true }) res: Response,
    @Headers('content-type') contentType: string | undefined,
    @Headers('content-encoding') contentEncoding: string | undefined,
    @Headers('x-vigil-log-format') formatHeader: string | undefined,
  ): Promise<IntakeResult> {
    const format = formatFromHeader(formatHeader);
    if (format === null) throw new HttpException({ statusCode: 400, message: `unknown X-Vigil-Log-Format ${JSON.stringify(formatHeader)}` }, 400);
    let records: (string | object)[];
    try {
      const body = await readBody(req, contentEncoding, this.config.ingest.maxBodyBytes);
      records = splitBody(body, contentType);
    } catch (err) {
      if (err instanceof BodyError) throw new HttpException({ statusCode: err.status, message: err.message }, err.status);
      throw err;
    }
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const tenant = req.principal?.tenant ?? this.config.tenant;
    try {
      return await this.intake.submit(
        records.map((raw, index) => ({ raw, source: `http:${requestId}#${index}` })),
        tenant,
        format,
      );
    } catch (err) {
      if (err instanceof SaturatedError) {
        res.setHeader('Retry-After', String(err.retryAfterSeconds));
        throw new HttpException({ statusCode: 429, message: err.message }, 429);
      }
      throw new HttpException({ statusCode: 503, message: 'logs could not be stored right now; retry (records are idempotent by event id)' }, 503);
    }
  }
}
