import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule, CLOCK, LOGGER, VIGIL_CONFIG, type Clock, type Logger, type VigilConfig } from '@vigil/platform';
import { ApiRequestGuard } from './api-request.guard.js';
import { MemoryRateLimiter, RATE_LIMITER, type RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const WINDOW_MS = 60_000;

/**
 * Authentication + per-key rate limits on every /v1/* route of the process (a global guard). Redis-backed when
 * REDIS_URL is configured (distributed mode: shared by the instances), in memory otherwise (standalone).
 */
@Module({
  imports: [AuthModule],
  providers: [
    {
      provide: RATE_LIMITER,
      inject: [VIGIL_CONFIG, CLOCK, LOGGER],
      useFactory: (config: VigilConfig, clock: Clock, logger: Logger): RateLimiter => {
        const limit = config.rateLimit.perMinute;
        if (config.redisUrl === null) return new MemoryRateLimiter(limit, WINDOW_MS, clock);
        const prefix = `${config.groupPrefix}:ratelimit:`;
        const log = logger.child({ component: 'rate-limit' });
        return new RedisRateLimiter({
          redisUrl: config.redisUrl, prefix, limit, windowMs: WINDOW_MS,
          onError: (err) => log.warn({ err: err.message }, 'rate limiter: redis unavailable, letting requests through'),
        });
      },
    },
    { provide: APP_GUARD, useClass: ApiRequestGuard },
  ],
})
export class RateLimitModule implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMITER) private readonly limiter: RateLimiter) {}

  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
  }
}
