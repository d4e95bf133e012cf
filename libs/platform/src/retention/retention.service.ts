import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../clock/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/config.js';
import { LOGGER } from '../logging/logger.js';
import { STORE, type Store } from '../ports/store.js';

/** How often retention runs; daily partitions make an hourly check cheap (it lists parts, drops whole days). */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Retention without TTL: once at start and then hourly, drop the daily partitions (ClickHouse) or days of rows
 * (SQLite) of time-series tables older than RETENTION_DAYS. Registered by the ingest module, so one kind of service
 * runs it (it is idempotent, so several ingest instances doing it is harmless).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<string[]> | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'retention' });
  }

  onApplicationBootstrap(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), RETENTION_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One pass; returns the days dropped. Failures are logged and retried at the next interval. */
  async runOnce(): Promise<string[]> {
    if (this.running) return this.running;
    this.running = this.store
      .dropOlderThan(this.config.retentionDays, this.clock.now())
      .then((dropped) => {
        if (dropped.length) this.log.info({ dropped, retentionDays: this.config.retentionDays }, 'retention: dropped old days');
        return dropped;
      })
      .catch((err: unknown) => {
        this.log.warn({ err }, 'retention: pass failed; will retry');
        return [];
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
