import type { Clock } from '@vigil/platform';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the window resets (ms). */
  resetInMs: number;
}

/** Fixed-window request counter per bucket (an API key, or a client IP for requests without one). */
export interface RateLimiter {
  hit(bucket: string): Promise<RateDecision>;
  close(): Promise<void>;
}

export const RATE_LIMITER = Symbol('RATE_LIMITER');

export function decide(count: number, limit: number, resetInMs: number): RateDecision {
  return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetInMs: Math.max(0, resetInMs) };
}

/** In-process limiter (standalone): one fixed window per bucket, started by its first request. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private hits = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  async hit(bucket: string): Promise<RateDecision> {
    const now = this.clock.now();
    if (++this.hits % 10_000 === 0) this.sweep(now);
    let w = this.windows.get(bucket);
    if (!w || now >= w.start + this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(bucket, w);
    }
    w.count += 1;
    return decide(w.count, this.limit, w.start + this.windowMs - now);
  }

  async close(): Promise<void> {
    this.windows.clear();
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now >= w.start + this.windowMs) this.windows.delete(k);
  }
}
