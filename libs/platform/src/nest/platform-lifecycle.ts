import { Inject, Injectable, Optional, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger.js';
import { EVENT_BUS, type EventBus } from '../ports/event-bus.js';
import { STORE, type Store } from '../ports/store.js';
import { WORK_QUEUE, type WorkQueue } from '../ports/work-queue.js';

/**
 * The shutdown order of a process. Nest runs, on SIGTERM/SIGINT or `app.close()`:
 *   1. new HTTP requests get 503 (`return503OnClosing`), then `onModuleDestroy` of every module
 *      (domain modules stop timers and their own loops there),
 *   2. `beforeApplicationShutdown` (here: logged),
 *   3. the HTTP server closes, letting in-flight requests finish,
 *   4. `onApplicationShutdown` (here): the event bus closes its subscriptions, draining in-flight batches, and its
 *      producer; then the work queue waits for active jobs; then the store closes. Each step is logged, and a
 *      failing step does not skip the next.
 * The overall deadline (SHUTDOWN_TIMEOUT_MS) is enforced by `runService`.
 */
@Injectable()
export class PlatformLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly log: Logger;

  constructor(
    @Inject(LOGGER) logger: Logger,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(STORE) private readonly store: Store,
    @Optional() @Inject(WORK_QUEUE) private readonly queue?: WorkQueue<unknown>,
  ) {
    this.log = logger.child({ component: 'shutdown' });
  }

  /** Runs after every module's onModuleDestroy (domain consumers close their own subscriptions there). */
  beforeApplicationShutdown(signal?: string): void {
    this.log.info({ signal: signal ?? null, step: 'http' }, 'shutdown: closing HTTP server (in-flight requests finish)');
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ signal: signal ?? null, step: 'http' }, 'shutdown: HTTP server closed');
    await this.step('event-bus', `closing event bus (${this.bus.kind}): draining subscriptions`, () => this.bus.close());
    if (this.queue) {
      const queue = this.queue;
      await this.step('work-queue', `closing work queue (${queue.kind}): waiting for active jobs`, () => queue.close());
    }
    await this.step('store', `closing store (${this.store.kind})`, () => this.store.close());
    this.log.info({ step: 'done' }, 'shutdown: complete');
  }

  private async step(step: string, what: string, run: () => Promise<void>): Promise<void> {
    this.log.info({ step }, `shutdown: ${what}`);
    try {
      await run();
      this.log.info({ step }, `shutdown: ${step} closed`);
    } catch (err) {
      this.log.error({ step, err }, `shutdown: ${step} failed to close`);
    }
  }
}
