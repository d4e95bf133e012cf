import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Incident, IncidentStatus } from '@vigil/contracts';
import { CLOCK, LOGGER, STORE, type Clock, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import { StreamPublisher, type PreparedStream } from '../gateway/stream-publisher.js';
import { autoResolve, type IncidentPolicy } from './incident-grouper.js';
import { INCIDENT_POLICY, SWEEP_EVERY_MS } from './incident-policy.js';
import { OutboxRelay } from './outbox-relay.js';
import { PeriodicTask } from './periodic-task.js';

/**
 * Periodic auto-resolve: open and acknowledged incidents whose last anomaly is older than the quiet period (by the
 * injected clock) are resolved at lastSeen + quiet period. Every instance may sweep: the outcome is deterministic,
 * so two sweeps write the same revision. Each incident.resolved notification goes through the outbox: recorded before
 * its incident is written, sent and settled after the sweep; what a failure leaves pending the OutboxRelay sends.
 */
@Injectable()
export class IncidentSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private loop: PeriodicTask | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(INCIDENT_POLICY) private readonly policy: IncidentPolicy,
    private readonly publisher: StreamPublisher,
    private readonly outbox: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'incident-sweeper' });
  }

  onApplicationBootstrap(): void {
    this.loop ??= new PeriodicTask(() => this.sweep(), SWEEP_EVERY_MS, (err: unknown) => this.log.warn({ err }, 'auto-resolve sweep failed; next one retries'));
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop?.stop();
  }

  /** Resolve every quiet incident as of `now`; returns the incidents resolved. */
  async sweep(now = this.clock.now()): Promise<Incident[]> {
    const resolved: Incident[] = [];
    const streams: PreparedStream[] = [];
    for (const status of ['open', 'acknowledged'] satisfies IncidentStatus[]) {
      let cursor: string | undefined;
      do {
        // Oldest activity first, and only what is already quiet.
        const page = await this.store.incidents.list({ status, to: now, order: 'asc', limit: 500, ...(cursor ? { cursor } : {}) });
        for (const i of page.items) {
          const out = autoResolve(i, now, this.policy);
          if (!out.incident) continue;
          const prepared = this.publisher.prepare([], out.events);
          await this.publisher.recorded(prepared);
          await this.store.incidents.upsert(out.incident);
          resolved.push(out.incident);
          streams.push(prepared);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    await this.outbox.sendRecorded(streams.reduce(StreamPublisher.merge, { anomalies: [], incidents: [] }));
    if (resolved.length) this.log.info({ resolved: resolved.length }, 'incidents auto-resolved');
    return resolved;
  }
}
