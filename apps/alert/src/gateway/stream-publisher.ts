import { Inject, Injectable, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  Anomaly,
  Incident,
  StreamEventType,
  TOPICS,
  type AnomalyStreamEvent,
  type IncidentLifecycleEvent,
  type IncidentStreamEvent,
  type StreamEventRecord,
} from '@vigil/contracts';
import { CLOCK, EVENT_BUS, LOGGER, STORE, type Clock, type EventBus, type OutboxEntry, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { IncidentEvent, IncidentEventType } from '../incidents/incident-grouper.js';
import { EventIdGenerator } from './event-id.js';
import { OUTBOX_SETTLER_OPTIONS, OutboxSettler, type OutboxSettlerOptions } from './outbox-settler.js';
import { incidentTarget, roomsFor, type StreamTarget } from './rooms.js';

/** Another instance's outbox entry younger than this is its work in progress (see `pendingFrom`). */
export const FOREIGN_GRACE_MS = 10_000;
/** Unsettled entries of this process remembered at most (the oldest are forgotten first, and then count as foreign). */
const MAX_MINE = 50_000;

export type StreamPayload = IncidentStreamEvent | AnomalyStreamEvent;

/** Where live events go once logged: the socket gateway (absent in a process without one, e.g. a test). */
export interface StreamBroadcaster {
  broadcast(type: StreamEventType, payload: StreamPayload, rooms: string[]): void;
}

/** One live event ready to go: its id (in the payload), where it is broadcast, its log record and its outbox entry. */
interface Outgoing<T extends StreamEventType, P extends StreamPayload> {
  type: T;
  payload: P;
  target: StreamTarget;
  record: StreamEventRecord;
  outbox: OutboxEntry;
}
type OutgoingAnomaly = Outgoing<'anomaly.detected', AnomalyStreamEvent>;
type OutgoingIncident = Outgoing<IncidentEventType, IncidentStreamEvent>;

/**
 * A batch's live events with their ids assigned (from `prepare`): log them (`log`), then send them (`deliver`).
 * Anomalies come first, then incident changes, each in the order given, so event ids ascend in that order.
 */
export interface PreparedStream {
  readonly anomalies: readonly OutgoingAnomaly[];
  readonly incidents: readonly OutgoingIncident[];
}

/** An anomaly to announce and the incident (as it stands after that anomaly) whose change it is part of. */
export interface LiveAnomaly {
  anomaly: Anomaly;
  incident: Incident;
}

/** An event id already given to a notification (kept when the notification is prepared again after a failure). */
export interface EventStamp {
  eventId: string;
  at: number;
}

/**
 * A notification read back from the outbox: it announces a change of `incidentId` that is durable once the stored
 * incident has reached `revision`.
 */
export interface PendingNotification {
  incidentId: string;
  revision: number;
  outgoing: OutgoingAnomaly | OutgoingIncident;
}

/** What an outbox entry holds: the live event and the incident revision that makes it true. */
const OutboxNote = z.object({
  v: z.literal(1),
  incidentId: z.string(),
  revision: z.number().int(),
  type: StreamEventType,
  payload: z.union([
    z.object({ eventId: z.string(), at: z.number(), anomaly: Anomaly }),
    z.object({ eventId: z.string(), at: z.number(), incident: Incident }),
  ]),
});
type OutboxNote = z.infer<typeof OutboxNote>;

/** The outbox key of a batch entity: pending notifications are looked up by the entities a batch touches. */
export function outboxKey(tenant: string, entityType: string, entity: string): string {
  return JSON.stringify([tenant, entityType, entity]);
}

/** The outbox id of a notification: deterministic, so preparing it again (a redelivered batch) finds the same entry. */
function outboxId(type: StreamEventType, subject: string): string {
  return `${type}:${subject}`;
}

/**
 * Sends what the alert domain has to say: every incident change and every (unsilenced) anomaly gets a sortable event
 * id, is appended to the live-event log in the store (so reconnecting clients can resume), then everything is
 * broadcast to the socket rooms it matches and incident changes are published on `vigil.incidents` (for webhooks).
 * Log first, then broadcast: a client never sees a live event it could not resume from.
 * A batch of anomalies uses prepare → log → deliver: one append for all its events (which the caller may run
 * alongside its own writes), one broadcast per event, one publish.
 */
@Injectable()
export class StreamPublisher implements BeforeApplicationShutdown {
  private readonly ids: EventIdGenerator;
  private broadcaster: StreamBroadcaster | null = null;
  private readonly log: Logger;
  private readonly settler: OutboxSettler;
  /** Outbox entries this process recorded and has not settled (a batch that failed after recording them). */
  private readonly mine = new Set<string>();

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(OUTBOX_SETTLER_OPTIONS) settlerOptions?: OutboxSettlerOptions,
  ) {
    this.ids = new EventIdGenerator(clock);
    this.log = logger.child({ component: 'stream-publisher' });
    this.settler = new OutboxSettler(store.outbox, clock, this.log, settlerOptions);
  }

  /** After every module's onModuleDestroy (anomaly batches drained): write the held outbox done marks. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.settler.close();
  }

  attach(broadcaster: StreamBroadcaster | null): void {
    this.broadcaster = broadcaster;
  }

  /**
   * Assign event ids (anomalies first, then incident changes) and build the log records and outbox entries; no I/O.
   * A notification whose outbox id is in `reuse` keeps the event id it was given before (a redelivered batch
   * announces the same change under the same id, so the live-event log never holds it twice).
   */
  prepare(anomalies: readonly LiveAnomaly[], incidents: readonly IncidentEvent[], reuse: ReadonlyMap<string, EventStamp> = new Map()): PreparedStream {
    const a = anomalies.map(({ anomaly: x, incident }): OutgoingAnomaly => {
      const id = outboxId('anomaly.detected', x.id);
      const { eventId, at } = reuse.get(id) ?? this.ids.next();
      const payload: AnomalyStreamEvent = { eventId, at, anomaly: x };
      return this.outgoing(id, { v: 1, incidentId: incident.id, revision: incident.revision, type: 'anomaly.detected', payload }, incident) as OutgoingAnomaly;
    });
    const i = incidents.map((e): OutgoingIncident => {
      const id = outboxId(e.type, `${e.incident.id}@${e.incident.revision}`);
      const { eventId, at } = reuse.get(id) ?? this.ids.next();
      const payload: IncidentStreamEvent = { eventId, at, incident: e.incident };
      return this.outgoing(id, { v: 1, incidentId: e.incident.id, revision: e.incident.revision, type: e.type, payload }, e.incident) as OutgoingIncident;
    });
    return { anomalies: a, incidents: i };
  }

  /**
   * Notifications read back from the outbox. Left out: malformed entries (logged), the ones this process has sent
   * and holds the done mark of (`settleLater`), and another instance's work in progress: an entry this process did
   * not record, younger than FOREIGN_GRACE_MS. A token's incident takes token and token×IP anomalies, which are keyed
   * apart and may be handled by two instances; the one that reads the other's fresh entries must not send them too.
   * A redelivery after a crash comes after the consumer group's session timeout (30 s), so the entries it must pick
   * up are older than that; an entry left behind for good is the relay's after its grace period either way.
   */
  pendingFrom(entries: readonly OutboxEntry[]): { notifications: PendingNotification[]; malformed: OutboxEntry[] } {
    const notifications: PendingNotification[] = [];
    const malformed: OutboxEntry[] = [];
    const foreignBefore = this.clock.now() - FOREIGN_GRACE_MS;
    for (const entry of entries) {
      if (this.settler.holds(entry.id)) continue;
      if (entry.createdAt > foreignBefore && !this.mine.has(entry.id)) continue;
      let json: unknown;
      try {
        json = JSON.parse(entry.payload);
      } catch {
        json = undefined;
      }
      const note = OutboxNote.safeParse(json);
      if (!note.success) {
        this.log.warn({ outboxId: entry.id }, 'malformed outbox entry dropped');
        malformed.push(entry);
        continue;
      }
      const n = note.data;
      const incidentLike = 'incident' in n.payload ? n.payload.incident : null;
      const outgoing = { ...this.outgoing(entry.id, n, incidentLike), outbox: entry };
      notifications.push({ incidentId: n.incidentId, revision: n.revision, outgoing });
    }
    return { notifications, malformed };
  }

  /** The same batch's anomalies and incident changes, `first` before `then` (each kind apart, in order). */
  static merge(first: PreparedStream, then: PreparedStream): PreparedStream {
    return { anomalies: [...first.anomalies, ...then.anomalies], incidents: [...first.incidents, ...then.incidents] };
  }

  /** From pending notifications (read back from the outbox) to a stream to deliver. */
  static of(notifications: readonly PendingNotification[]): PreparedStream {
    const anomalies: OutgoingAnomaly[] = [];
    const incidents: OutgoingIncident[] = [];
    for (const { outgoing } of notifications) {
      if (outgoing.type === 'anomaly.detected') anomalies.push(outgoing as OutgoingAnomaly);
      else incidents.push(outgoing as OutgoingIncident);
    }
    return { anomalies, incidents };
  }

  /**
   * Record every prepared event in the outbox as pending, in one call: before the change it announces is stored, so a
   * failure anywhere after leaves it to be sent by the redelivery.
   */
  async recorded(prepared: PreparedStream): Promise<void> {
    const entries = outboxEntries(prepared);
    if (!entries.length) return;
    await this.store.outbox.add(entries);
    for (const e of entries) this.mine.add(e.id);
    if (this.mine.size > MAX_MINE) for (const id of [...this.mine].slice(0, this.mine.size - MAX_MINE)) this.mine.delete(id);
  }

  /** Settle outbox entries once sent (or once known never to be sent). */
  async settled(prepared: PreparedStream, also: readonly OutboxEntry[] = []): Promise<void> {
    const entries = outboxEntries(prepared).concat(also);
    if (!entries.length) return;
    await this.store.outbox.markDone(entries, this.clock.now());
    for (const e of entries) this.mine.delete(e.id);
  }

  /**
   * Settle outbox entries once sent, in a write shared with the other batches of the next `lingerMs` (OutboxSettler):
   * until then this process leaves them out of what it reads back as pending. Never fails.
   */
  settleLater(prepared: PreparedStream, also: readonly OutboxEntry[] = []): void {
    const entries = outboxEntries(prepared).concat(also);
    this.settler.settle(entries);
    for (const e of entries) this.mine.delete(e.id);
  }

  /** Write the done marks `settleLater` holds now (tests; shutdown does it on its own). */
  flushSettled(): Promise<void> {
    return this.settler.flush();
  }

  /** Append every prepared event to the live-event log, in one call. */
  async logged(prepared: PreparedStream): Promise<void> {
    const records = [...prepared.anomalies, ...prepared.incidents].map((o) => o.record);
    if (records.length) await this.store.streamEvents.append(records);
  }

  /**
   * After `logged`: broadcast every event (anomalies first), then publish the incident changes for webhooks.
   * Broadcasting never fails the batch; a failed publish throws (the caller's batch is redelivered).
   */
  async deliver(prepared: PreparedStream): Promise<void> {
    this.broadcast(prepared);
    await this.published(prepared);
  }

  /** After `logged`: broadcast every event to its socket rooms (anomalies first). Never throws. */
  broadcast(prepared: PreparedStream): void {
    for (const o of prepared.anomalies) this.send(o);
    for (const o of prepared.incidents) this.send(o);
  }

  /** Publish the incident changes on `vigil.incidents` (for webhooks), in one call; a failure throws. */
  async published(prepared: PreparedStream): Promise<void> {
    if (!prepared.incidents.length) return;
    await this.bus.publish(
      TOPICS.incidents,
      prepared.incidents.map((o) => {
        const msg: IncidentLifecycleEvent = { v: 1, eventId: o.payload.eventId, type: o.type, at: o.payload.at, incident: o.payload.incident };
        return { key: o.payload.incident.id, value: JSON.stringify(msg) };
      }),
    );
  }

  /** Log, broadcast and publish incident changes (workflow actions, the sweeper). */
  async incidents(events: readonly IncidentEvent[]): Promise<void> {
    if (!events.length) return;
    const prepared = this.prepare([], events);
    await this.logged(prepared);
    await this.deliver(prepared);
  }

  private outgoing(id: string, note: OutboxNote, incident: Incident | null): OutgoingAnomaly | OutgoingIncident {
    const p = note.payload;
    const entry: OutboxEntry = { id, key: '', payload: JSON.stringify(note), createdAt: p.at };
    if ('anomaly' in p) {
      const x = p.anomaly;
      const target: StreamTarget = { tenant: x.tenant, severity: x.severity, entities: [{ type: x.entityType, value: x.entity }] };
      const key = incident ? outboxKey(incident.tenant, incident.entityType, incident.entity) : '';
      return { type: 'anomaly.detected', payload: p, target, record: record('anomaly.detected', p, x.severity, x.entityType, x.entity, x.tenant), outbox: { ...entry, key } };
    }
    const i = p.incident;
    const type = note.type === 'anomaly.detected' ? 'incident.updated' : note.type;
    return { type, payload: p, target: incidentTarget(i), record: record(type, p, i.severity, i.entityType, i.entity, i.tenant), outbox: { ...entry, key: outboxKey(i.tenant, i.entityType, i.entity) } };
  }

  private send(o: OutgoingAnomaly | OutgoingIncident): void {
    try {
      this.broadcaster?.broadcast(o.type, o.payload, roomsFor(o.target));
    } catch (err) {
      // Logged already: clients resume from the log. Never fail the batch over a broadcast.
      this.log.warn({ err, type: o.type, eventId: o.payload.eventId }, 'live broadcast failed');
    }
  }
}

/** The outbox entries of a prepared stream, anomalies first. */
export function outboxEntries(prepared: PreparedStream): OutboxEntry[] {
  return [...prepared.anomalies, ...prepared.incidents].map((o) => o.outbox);
}

function record(type: StreamEventType, payload: StreamPayload, severity: StreamEventRecord['severity'], entityType: StreamEventRecord['entityType'], entity: string, tenant: string): StreamEventRecord {
  return { eventId: payload.eventId, tenant, type, at: payload.at, severity, entityType, entity, payload: JSON.stringify(payload) };
}
