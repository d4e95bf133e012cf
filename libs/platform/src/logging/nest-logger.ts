import type { LoggerService, LogLevel } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's LoggerService on top of the process's pino logger, so Nest's own lines (routes mapped, lifecycle,
 * uncaught exceptions) come out as the same structured JSON. Nest passes the context as the last string
 * argument and, for errors, the stack before it.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  setLogLevels(levels: LogLevel[]): void {
    const order: [LogLevel, Level][] = [['verbose', 'trace'], ['debug', 'debug'], ['log', 'info'], ['warn', 'warn'], ['error', 'error'], ['fatal', 'fatal']];
    const lowest = order.find(([nest]) => levels.includes(nest));
    this.logger.level = lowest ? lowest[1] : 'silent';
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const rest = params.filter((p) => p !== undefined);
    const last = rest[rest.length - 1];
    const context = typeof last === 'string' && rest.length > 0 ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    const first = rest[0];
    if (level === 'error' && typeof first === 'string' && /\n\s+at /.test(first)) {
      fields.stack = first;
      rest.shift();
    }
    if (rest.length > 0) fields.params = rest;

    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
