import {
  ForbiddenException,
  Global,
  Inject,
  Injectable,
  Module,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Scope } from '@vigil/contracts';
import { CLOCK, type Clock } from '../clock/clock.js';
import { STORE, type Store } from '../ports/store.js';
import { ApiKeyAuthenticator, type Principal } from './api-key-authenticator.js';

export const SCOPES_KEY = 'vigil:scopes';

/** Marks a route as requiring an API key with these scopes (admin implies all). */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(SCOPES_KEY, scopes);

interface AuthedRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string };
  principal?: Principal;
}

/** The bearer token or X-API-Key header of a request. */
export function presentedKey(headers: AuthedRequest['headers']): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth === 'string' && auth.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' ? key.trim() : undefined;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: ApiKeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scopes = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPES_KEY, [context.getHandler(), context.getClass()]);
    if (!scopes) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const ip = req.ip ?? req.socket?.remoteAddress ?? '';
    const outcome = await this.auth.authenticate(presentedKey(req.headers), ip, scopes);
    if (!outcome.ok) {
      throw outcome.status === 401 ? new UnauthorizedException(outcome.reason) : new ForbiddenException(outcome.reason);
    }
    req.principal = outcome.principal;
    return true;
  }
}

/** Provides the authenticator and the guard to every module (routes opt in with @RequireScopes + @UseGuards). */
@Global()
@Module({
  providers: [
    {
      provide: ApiKeyAuthenticator,
      inject: [STORE, CLOCK],
      useFactory: (store: Store, clock: Clock) => new ApiKeyAuthenticator(store.apiKeys, clock),
    },
    ApiKeyGuard,
  ],
  exports: [ApiKeyAuthenticator, ApiKeyGuard],
})
export class AuthModule {}
