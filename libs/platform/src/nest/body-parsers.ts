import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** Limit of the JSON and form bodies the REST API parses (streamed routes set their own). */
export const API_BODY_LIMIT = '1mb';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json$/;
const FORM_TYPE = /^application\/x-www-form-urlencoded$/;

function mime(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** True when `url` is one of `prefixes` or below one (`/v1/logs`, `/v1/logs/`, `/v1/logs?x` but not `/v1/logsx`). */
export function underPrefix(url: string, prefixes: readonly string[]): boolean {
  const path = url.split('?')[0] ?? '';
  return prefixes.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
}

/**
 * Installs the JSON and urlencoded body parsers in place of Nest's defaults, leaving the request stream untouched
 * on `rawBodyRoutes` (e.g. ingest's POST /v1/logs, which streams, un-gzips and size-limits its body itself).
 * The app must be created with `bodyParser: false` (runService does), so Nest adds no parsers of its own.
 */
export function installBodyParsers(app: NestExpressApplication, rawBodyRoutes: readonly string[]): void {
  const parsed = (type: RegExp) => (req: IncomingMessage) => type.test(mime(req)) && !underPrefix(req.url ?? '', rawBodyRoutes);
  app.useBodyParser('json', { limit: API_BODY_LIMIT, type: parsed(JSON_TYPE) });
  app.useBodyParser('urlencoded', { limit: API_BODY_LIMIT, extended: true, type: parsed(FORM_TYPE) });
}
