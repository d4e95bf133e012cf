import { BadRequestException, createParamDecorator, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '@vigil/platform';

/**
 * Validates a body or query with a zod schema; a failure is a 400 listing every problem with its path:
 * `{ statusCode: 400, message: 'invalid request: url: Invalid URL', errors: [{ path: 'url', message: 'Invalid URL' }] }`.
 */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: z.ZodType<T>) {}

  transform(value: unknown): T {
    const r = this.schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const errors = r.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      errors,
    });
  }
}

/** The authenticated key of the request (set by the API key guard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<{ principal?: Principal }>();
  if (!req.principal) throw new Error('route has no @RequireScopes: no principal');
  return req.principal;
});
