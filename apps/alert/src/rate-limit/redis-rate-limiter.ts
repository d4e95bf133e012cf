import { Redis } from 'ioredis';
import { decide, type RateDecision, type RateLimiter } from './rate-limiter.js';

/** INCR the bucket; the first hit of a window sets its expiry. Returns [count, ms until the window resets]. */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

export interface RedisRateLimiterOptions {
  redisUrl: string;
  /** Key prefix, e.g. `vigil:ratelimit:`. */
  prefix: string;
  limit: number;
  windowMs: number;
  /** Called when Redis fails; the request is then let through (fail open: an outage of Redis must not lock out the API). */
  onError?: (err: Error) => void;
}

/**
 * Distributed fixed-window limiter on Redis (one atomic Lua script per request), shared by every alert instance.
 * Fails open when Redis does not answer within `commandTimeout`.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;

  constructor(private readonly o: RedisRateLimiterOptions) {
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 500, enableOfflineQueue: false, lazyConnect: false });
    this.redis.on('error', (err: Error) => o.onError?.(err));
  }

  async hit(bucket: string): Promise<RateDecision> {
    try {
      const [count, ttl] = (await this.redis.eval(HIT_SCRIPT, 1, this.o.prefix + bucket, String(this.o.windowMs))) as [number, number];
      return decide(count, this.o.limit, ttl);
    } catch (err) {
      this.o.onError?.(err as Error);
      return decide(0, this.o.limit, this.o.windowMs);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
