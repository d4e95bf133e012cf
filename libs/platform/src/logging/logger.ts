import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Injection token for the process's root pino logger (one per process; take `.child({ component })` from it). */
export const LOGGER = Symbol('VIGIL_LOGGER');

/** Keys whose values never reach a log line, wherever they sit in the first three levels of a log object. */
const SECRET_KEYS = ['password', 'secret', 'apiKey', 'api_key', 'token', 'accessToken', 'refreshToken', 'hashKey', 'authorization', 'cookie'];

/** Headers that carry credentials, on requests and responses (pino-http puts them under req/res). */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-vigil-api-key', 'webhook-signature'];

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`, `headers["${h}"]`]),
];

export const REDACTED = '[Redacted]';

export interface LoggerSettings {
  /** Added to every line as `service`. */
  service: string;
  level: LevelWithSilent;
  /** Where lines go; stdout (synchronous, so nothing is lost on exit) when omitted. */
  destination?: DestinationStream;
}

/** Structured JSON logger with secrets redacted. Levels are written as labels (`"level":"info"`), times as ISO strings. */
export function createLogger(settings: LoggerSettings): Logger {
  const options = {
    level: settings.level,
    base: { service: settings.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options, pino.destination({ dest: 1, sync: true }));
}
