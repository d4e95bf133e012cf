import type { Clock } from '@vigil/platform';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  threshold: number;
  /** Time the circuit stays open before one trial request is let through (ms). */
  cooldownMs: number;
}

/** What the caller may do now: send, or wait `retryInMs` (the circuit is open, or a trial is in flight). */
export type BreakerDecision = { allow: true; trial: boolean } | { allow: false; retryInMs: number };

interface Circuit {
  state: BreakerState;
  failures: number;
  openedAt: number;
  trialStartedAt: number | null;
}

/**
 * One circuit breaker per endpoint (keyed by the caller, e.g. the target URL), in process memory.
 * closed → (threshold consecutive failures) → open → (cooldown) → half-open: one trial request;
 * its success closes the circuit, its failure opens it for another cooldown. While open (or while the trial is in
 * flight) `acquire` answers how long to wait, so the caller re-schedules instead of dropping the work.
 * A trial that never reports back (a crashed worker) is given up after one cooldown and another is allowed.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly opts: BreakerOptions,
    private readonly clock: Clock,
  ) {}

  state(key: string): BreakerState {
    const c = this.circuits.get(key);
    if (!c) return 'closed';
    if (c.state === 'open' && this.clock.now() >= c.openedAt + this.opts.cooldownMs) return 'half-open';
    return c.state;
  }

  acquire(key: string): BreakerDecision {
    const c = this.circuits.get(key);
    if (!c || c.state === 'closed') return { allow: true, trial: false };
    const now = this.clock.now();
    if (c.state === 'open') {
      const reopenAt = c.openedAt + this.opts.cooldownMs;
      if (now < reopenAt) return { allow: false, retryInMs: reopenAt - now };
      c.state = 'half-open';
      c.trialStartedAt = now;
      return { allow: true, trial: true };
    }
    // half-open: one trial at a time
    if (c.trialStartedAt !== null && now < c.trialStartedAt + this.opts.cooldownMs) {
      return { allow: false, retryInMs: c.trialStartedAt + this.opts.cooldownMs - now };
    }
    c.trialStartedAt = now;
    return { allow: true, trial: true };
  }

  success(key: string): void {
    this.circuits.delete(key);
  }

  failure(key: string): void {
    const now = this.clock.now();
    const c = this.circuits.get(key) ?? { state: 'closed' as BreakerState, failures: 0, openedAt: 0, trialStartedAt: null };
    c.failures += 1;
    if (c.state === 'half-open' || c.failures >= this.opts.threshold) {
      c.state = 'open';
      c.openedAt = now;
      c.trialStartedAt = null;
    }
    this.circuits.set(key, c);
  }
}
