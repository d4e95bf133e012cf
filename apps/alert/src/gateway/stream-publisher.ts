import { Inject, Injectable } from '@nestjs/common';
import {
  TOPICS,
  type Anomaly,
  type AnomalyStreamEvent,
  type IncidentLifecycleEvent,
  type IncidentStreamEvent,
  type StreamEventRecord,
  type StreamEventType,
} from '@vigil/contracts';
import { CLOCK, EVENT_BUS, LOGGER, STORE, type Clock, type EventBus, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import type { IncidentEvent, IncidentEventType } from '../incidents/incident-grouper.js';
import { EventIdGenerator } from './event-id.js';
import { incidentTarget, roomsFor, type StreamTarget } from './rooms.js';

export type StreamPayload = IncidentStreamEvent | AnomalyStreamEvent;

/** Where live events go once logged: the socket gateway (absent in a process without one, e.g. a test). */
export interface StreamBroadcaster {
  broadcast(type: StreamEventType, payload: StreamPayload, rooms: string[]): void;
}

/** One live event ready to go: its id (in the payload), where it is broadcast, and its log record. */
interface Outgoing<T extends StreamEventType, P extends StreamPayload> {
  type: T;
  payload: P;
  target: StreamTarget;
  record: StreamEventRecord;
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

/**
 * Sends what the alert domain has to say: every incident change and every (unsilenced) anomaly gets a sortable event
 * id, is appended to the live-event log in the store (so reconnecting clients can resume), then everything is
 * broadcast to the socket rooms it matches and incident changes are published on `vigil.incidents` (for webhooks).
 * Log first, then broadcast: a client never sees a live event it could not resume from.
 * A batch of anomalies uses prepare → log → deliver: one append for all its events (which the caller may run
 * alongside its own writes), one broadcast per event, one publish.
 */
@Injectable()
export class StreamPublisher {
  private readonly ids: EventIdGenerator;
  private broadcaster: StreamBroadcaster | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CLOCK) clock: Clock,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.ids = new EventIdGenerator(clock);
    this.log = logger.child({ component: 'stream-publisher' });
  }

  attach(broadcaster: StreamBroadcaster | null): void {
    this.broadcaster = broadcaster;
  }

  /** Assign event ids (anomalies first, then incident changes) and build the log records; no I/O. */
  prepare(anomalies: readonly Anomaly[], incidents: readonly IncidentEvent[]): PreparedStream {
    const a = anomalies.map((x): OutgoingAnomaly => {
      const { eventId, at } = this.ids.next();
      const payload: AnomalyStreamEvent = { eventId, at, anomaly: x };
      const target: StreamTarget = { tenant: x.tenant, severity: x.severity, entities: [{ type: x.entityType, value: x.entity }] };
      return { type: 'anomaly.detected', payload, target, record: record('anomaly.detected', payload, x.severity, x.entityType, x.entity, x.tenant) };
    });
    const i = incidents.map((e): OutgoingIncident => {
      const { eventId, at } = this.ids.next();
      const payload: IncidentStreamEvent = { eventId, at, incident: e.incident };
      return { type: e.type, payload, target: incidentTarget(e.incident), record: record(e.type, payload, e.incident.severity, e.incident.entityType, e.incident.entity, e.incident.tenant) };
    });
    return { anomalies: a, incidents: i };
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
    for (const o of prepared.anomalies) this.send(o);
    for (const o of prepared.incidents) this.send(o);
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

  /** Log and broadcast anomalies. */
  async anomalies(anomalies: readonly Anomaly[]): Promise<void> {
    if (!anomalies.length) return;
    const prepared = this.prepare(anomalies, []);
    await this.logged(prepared);
    await this.deliver(prepared);
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

function record(type: StreamEventType, payload: StreamPayload, severity: StreamEventRecord['severity'], entityType: StreamEventRecord['entityType'], entity: string, tenant: string): StreamEventRecord {
  return { eventId: payload.eventId, tenant, type, at: payload.at, severity, entityType, entity, payload: JSON.stringify(payload) };
}
