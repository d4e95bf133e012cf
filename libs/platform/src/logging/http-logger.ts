import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LevelWithSilent, Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

/** Probe and scrape endpoints are logged at debug so they do not drown the request log. */
const QUIET_PATHS = ['/health', '/health/live', '/metrics'];

/** Level for a finished request: server errors are errors, client errors warnings, probes debug. */
export function requestLogLevel(path: string, status: number, error?: Error): LevelWithSilent {
  if (error || status >= 500) return QUIET_PATHS.includes(path) ? 'warn' : 'error';
  if (status >= 400) return 'warn';
  return QUIET_PATHS.includes(path) ? 'debug' : 'info';
}

/**
 * One line per request (pino-http), with a request id taken from `x-request-id` or generated, echoed back in
 * the response header. Credentials in headers are redacted by the logger's redact paths.
 */
export function createHttpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger: logger.child({ component: 'http' }),
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && given.length > 0 && given.length <= 128 ? given : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    customLogLevel: (req: IncomingMessage, res: ServerResponse, error?: Error) =>
      requestLogLevel((req.url ?? '').split('?')[0] ?? '', res.statusCode, error),
  });
}
