import { ArgumentsHost, Catch, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import { InvalidCursorError } from '@vigil/platform';

/** Domain errors of the alert service; `DomainErrorFilter` is the one place that maps them to HTTP. */
export class NotFoundError extends Error {
  constructor(what: string, id: string) {
    super(`${what} ${JSON.stringify(id)} not found`);
    this.name = 'NotFoundError';
  }
}

export class InvalidTransitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTransitionError';
  }
}

export class ValidationError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('; '));
    this.name = 'ValidationError';
  }
}

/** Parse request input with a zod schema; every issue is named by its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new ValidationError(r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`));
}

const STATUS = new Map<Function, number>([
  [NotFoundError, HttpStatus.NOT_FOUND],
  [InvalidTransitionError, HttpStatus.CONFLICT],
  [ValidationError, HttpStatus.BAD_REQUEST],
  [InvalidCursorError, HttpStatus.BAD_REQUEST],
]);

/**
 * Global filter for the domain errors above (404 unknown record, 409 invalid workflow transition, 400 validation or
 * a bad cursor). Other exceptions are not caught here and keep Nest's default handling.
 */
@Catch(NotFoundError, InvalidTransitionError, ValidationError, InvalidCursorError)
export class DomainErrorFilter implements ExceptionFilter {
  catch(err: Error, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const statusCode = STATUS.get(err.constructor) ?? HttpStatus.INTERNAL_SERVER_ERROR;
    res.status(statusCode).json({
      statusCode,
      error: err.name,
      message: err.message,
      ...(err instanceof ValidationError ? { issues: err.issues } : {}),
    });
  }
}
