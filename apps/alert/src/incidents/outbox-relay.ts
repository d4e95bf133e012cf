import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { IncidentLifecycleEvent, TOPICS } from '@vigil/contracts';
import { CLOCK, EVENT_BUS, LOGGER, STORE, type Clock, type EventBus, type OutboxEntry, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import { StreamPublisher, type PendingNotification, type PreparedStream } from '../gateway/stream-publisher.js';
import { PeriodicTask } from './periodic-task.js';

/** When the relay runs and what it takes. */
export interface OutboxRelayTiming {
  /** How often a relay pass runs (wall clock, setInterval). */
  everyMs: number;
  /** An entry is the relay's once pending for longer than this (by the injected clock): the path that recorded it had its chance. */
  graceMs: number;
  /** A pending entry whose change is still not stored after this long never will be (its batch or request failed for good): cancelled. */
  abandonAfterMs: number;
  /** Entries taken per pass, at most. */
  batch: number;
}

export const OUTBOX_RELAY_TIMING = Symbol('OUTBOX_RELAY_TIMING');
export const DEFAULT_OUTBOX_RELAY_TIMING: OutboxRelayTiming = { everyMs: 5_000, graceMs: 30_000, abandonAfterMs: 15 * 60_000, batch: 200 };

/**
 * Key of the entries that only still have to be published for webhooks (the broadcast and the live-event log are
 * done). Not an entity key (`outboxKey`): a redelivered anomaly batch never reads them, only the relay does.
 */
const PUBLISH_ONLY_KEY = 'publish-only';
const READ_CONCURRENCY = 8;

/** What one relay pass did. */
export interface RelayPass {
  sent: number;
  published: number;
  cancelled: number;
  waiting: number;
}

/**
 * The outbox's sender of last resort. Every notification is recorded in the outbox before the change it announces is
 * written and settled once sent; when the path that recorded it fails in between (store or bus failure, a crash),
 * the entry stays pending. Every `everyMs` the relay takes the entries pending for longer than `graceMs`, reads the
 * incident each one announces a change of, and when that change is durable (the stored incident reached the entry's
 * revision, as a redelivered batch checks) sends it: live-event log (idempotent by event id), socket broadcast and
 * webhook publish under the entry's original event id, then settles it. An entry whose change is still not stored
 * after `abandonAfterMs` is cancelled (the change never happened); before that it is left to the redelivery.
 *
 * A failed publish after the broadcast (deliver broadcasts, then publishes) is recorded as a publish-only entry, so a
 * retry publishes without broadcasting the event a second time.
 *
 * Several instances (distributed mode) each run a relay over the same outbox, with no coordination: delivery is
 * at-least-once. Two relays can only both send an entry when their passes read it before either settled it (one
 * pass, well under a second, out of `everyMs`, and only for entries that were already left behind by a failure);
 * the duplicate carries the same event id: the live-event log keeps one record, the webhook job id is derived from
 * (subscription, event id) so the work queue keeps one delivery, and a socket client may receive the event twice
 * (same `eventId`: a client that remembers the last event id it handled drops it).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private loop: PeriodicTask | null = null;
  private readonly log: Logger;
  private readonly timing: OutboxRelayTiming;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly publisher: StreamPublisher,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(OUTBOX_RELAY_TIMING) timing?: OutboxRelayTiming,
  ) {
    this.log = logger.child({ component: 'outbox-relay' });
    this.timing = timing ?? DEFAULT_OUTBOX_RELAY_TIMING;
  }

  onApplicationBootstrap(): void {
    this.loop ??= new PeriodicTask(() => this.pass(), this.timing.everyMs, (err: unknown) => this.log.warn({ err }, 'outbox relay pass failed; next one retries'));
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop?.stop();
  }

  /**
   * Send a prepared stream whose outbox entries are recorded and whose change is written: log, deliver, settle.
   * Never throws: whatever fails is left pending in the outbox for the relay (the change itself is durable).
   */
  async sendRecorded(prepared: PreparedStream): Promise<void> {
    try {
      await this.publisher.logged(prepared);
    } catch (err) {
      this.log.warn({ err }, 'live-event log failed; the outbox relay sends later');
      return;
    }
    await this.deliverAndSettle(prepared, []);
  }

  /** One relay pass (as the timer runs it). */
  async pass(): Promise<RelayPass> {
    const now = this.clock.now();
    const entries = await this.store.outbox.pending({ createdBefore: now - this.timing.graceMs + 1, limit: this.timing.batch });
    const out: RelayPass = { sent: 0, published: 0, cancelled: 0, waiting: 0 };
    if (!entries.length) return out;
    const publishOnly = entries.filter((e) => e.key === PUBLISH_ONLY_KEY);
    out.published = await this.publishOnly(publishOnly);

    const { notifications, malformed } = this.publisher.pendingFrom(entries.filter((e) => e.key !== PUBLISH_ONLY_KEY));
    const stored = await this.revisions([...new Set(notifications.map((n) => n.incidentId))]);
    const durable: PendingNotification[] = [];
    const cancelled: OutboxEntry[] = [...malformed];
    for (const n of notifications) {
      if ((stored.get(n.incidentId) ?? 0) >= n.revision) durable.push(n);
      else if (now - n.outgoing.outbox.createdAt >= this.timing.abandonAfterMs) cancelled.push(n.outgoing.outbox);
      else out.waiting += 1;
    }
    if (durable.length) this.log.warn({ notifications: durable.length }, 'sending notifications left pending');
    if (cancelled.length) this.log.warn({ entries: cancelled.length }, 'cancelling outbox entries whose change was never stored');
    const stream = StreamPublisher.of(durable);
    if (durable.length) await this.publisher.logged(stream);
    await this.deliverAndSettle(stream, cancelled);
    out.sent = durable.length;
    out.cancelled = cancelled.length;
    return out;
  }

  private async deliverAndSettle(prepared: PreparedStream, also: readonly OutboxEntry[]): Promise<void> {
    try {
      await this.publisher.deliver(prepared);
    } catch (err) {
      // deliver broadcasts first, then publishes: only the publish is left to do.
      this.log.warn({ err }, 'incident publish failed; the outbox relay publishes later');
      try {
        await this.store.outbox.add(prepared.incidents.map((o) => publishOnlyEntry(o.outbox, { v: 1, eventId: o.payload.eventId, type: o.type, at: o.payload.at, incident: o.payload.incident })));
      } catch (e) {
        // Left pending as they are: the relay sends them again in full (broadcast included), at least once.
        this.log.warn({ err: e }, 'outbox unavailable; notifications stay pending as they are');
        return;
      }
    }
    try {
      await this.publisher.settled(prepared, also);
    } catch (err) {
      this.log.warn({ err }, 'outbox settle failed; the relay may send these notifications again (same event ids)');
    }
  }

  private async publishOnly(entries: readonly OutboxEntry[]): Promise<number> {
    if (!entries.length) return 0;
    const events: IncidentLifecycleEvent[] = [];
    for (const e of entries) {
      const parsed = IncidentLifecycleEvent.safeParse(parseJson(e.payload));
      if (parsed.success) events.push(parsed.data);
      else this.log.warn({ outboxId: e.id }, 'malformed publish-only outbox entry dropped');
    }
    if (events.length) await this.bus.publish(TOPICS.incidents, events.map((m) => ({ key: m.incident.id, value: JSON.stringify(m) })));
    await this.store.outbox.markDone([...entries], this.clock.now());
    return events.length;
  }

  /** The stored revision of each incident (absent: not stored). */
  private async revisions(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
      const found = await Promise.all(ids.slice(i, i + READ_CONCURRENCY).map((id) => this.store.incidents.get(id)));
      for (const incident of found) if (incident) out.set(incident.id, incident.revision);
    }
    return out;
  }
}

function publishOnlyEntry(of: OutboxEntry, message: IncidentLifecycleEvent): OutboxEntry {
  return { id: `publish:${of.id}`, key: PUBLISH_ONLY_KEY, payload: JSON.stringify(message), createdAt: of.createdAt };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
