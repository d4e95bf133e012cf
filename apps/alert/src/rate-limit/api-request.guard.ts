import { ForbiddenException, HttpException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Scope } from '@vigil/contracts';
import { ApiKeyAuthenticator, SCOPES_KEY, presentedKey, type Principal } from '@vigil/platform';
import { RATE_LIMITER, type RateLimiter } from './rate-limiter.js';

interface ApiRequest {
  path?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}
interface ApiResponse {
  setHeader(name: string, value: string): void;
}

/**
 * Global guard for every `/v1/*` route: authenticates routes marked `@RequireScopes` (401 without a valid key,
 * 403 without the scope or from an IP outside the key's allowlist), then counts the request against the key's
 * per-minute budget (the client IP's for routes without a key): over it, 429 with `Retry-After` in seconds.
 * Every answer carries `X-RateLimit-Limit` / `X-RateLimit-Remaining`.
 */
@Injectable()
export class ApiRequestGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: ApiKeyAuthenticator,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<ApiRequest>();
    const path = req.path ?? req.url ?? '';
    if (!path.startsWith('/v1/') && path !== '/v1') return true;
    const ip = req.ip ?? req.socket?.remoteAddress ?? '';

    const scopes = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPES_KEY, [context.getHandler(), context.getClass()]);
    let bucket = `ip:${ip}`;
    if (scopes) {
      const outcome = await this.auth.authenticate(presentedKey(req.headers), ip, scopes);
      if (!outcome.ok) throw outcome.status === 401 ? new UnauthorizedException(outcome.reason) : new ForbiddenException(outcome.reason);
      req.principal = outcome.principal;
      bucket = `key:${outcome.principal.keyId}`;
    }

    const d = await this.limiter.hit(bucket);
    const res = context.switchToHttp().getResponse<ApiResponse>();
    res.setHeader('X-RateLimit-Limit', String(d.limit));
    res.setHeader('X-RateLimit-Remaining', String(d.remaining));
    if (!d.allowed) {
      const seconds = Math.max(1, Math.ceil(d.resetInMs / 1000));
      res.setHeader('Retry-After', String(seconds));
      throw new HttpException({ statusCode: 429, error: 'Too Many Requests', message: `rate limit of ${d.limit} requests per minute exceeded; retry in ${seconds} s` }, 429);
    }
    return true;
  }
}
