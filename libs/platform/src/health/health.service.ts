import type { Clock } from '../clock/clock.js';
import type { DependencyHealth } from '../ports/event-bus.js';

export interface HealthCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  /** 'ok' when every check passes; 'degraded' otherwise (served with HTTP 503). */
  status: 'ok' | 'degraded';
  service: string;
  uptimeSeconds: number;
  checks: HealthCheckResult[];
}

/** Something with a `health()` the way every port has one (event bus, store, work queue). */
export interface HealthIndicator {
  /** Stable name shown in the report, e.g. 'event-bus'. */
  name: string;
  /** What backs it, e.g. 'kafka'; prefixed to the detail. */
  kind: string;
  health(): Promise<DependencyHealth>;
}

/** A check that does not answer within this time counts as failed, so /health itself never hangs. */
export const HEALTH_CHECK_TIMEOUT_MS = 3000;

/**
 * Readiness of one app instance: asks every registered dependency in parallel. The platform registers the event bus,
 * the store and the work queue; domain modules may add their own with `register()`.
 */
export class HealthService {
  private readonly indicators: HealthIndicator[] = [];
  private readonly startedAt: number;

  constructor(
    private readonly service: string,
    private readonly clock: Clock,
    private readonly timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
  ) {
    this.startedAt = clock.now();
  }

  register(indicator: HealthIndicator): void {
    this.indicators.push(indicator);
  }

  uptimeSeconds(): number {
    return Math.max(0, Math.round((this.clock.now() - this.startedAt) / 1000));
  }

  async check(): Promise<HealthReport> {
    const checks = await Promise.all(this.indicators.map((i) => this.checkOne(i)));
    return {
      status: checks.every((c) => c.ok) ? 'ok' : 'degraded',
      service: this.service,
      uptimeSeconds: this.uptimeSeconds(),
      checks,
    };
  }

  private async checkOne(indicator: HealthIndicator): Promise<HealthCheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      const h = await Promise.race([indicator.health(), timeout]);
      return { name: indicator.name, ok: h.ok, detail: h.detail ? `${indicator.kind}: ${h.detail}` : indicator.kind };
    } catch (e) {
      return { name: indicator.name, ok: false, detail: `${indicator.kind}: ${e instanceof Error ? e.message : String(e)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
