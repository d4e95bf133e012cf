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
import type { IncidentEvent } from '../incidents/incident-grouper.js';
import { EventIdGenerator } from './event-id.js';
import { incidentTarget, roomsFor, type StreamTarget } from './rooms.js';

export type StreamPayload = IncidentStreamEvent | AnomalyStreamEvent;

/** Where live events go once logged: the socket gateway (absent in a process without one, e.g. a test). */
export interface StreamBroadcaster {
  broadcast(type: StreamEventType, payload: StreamPayload, rooms: string[]): void;
}

/**
 * Sends what the alert domain has to say: every incident change and every (unsilenced) anomaly gets a sortable event
 * id, is appended to the live-event log in the store (so reconnecting clients can resume), then incident changes are
 * published on `vigil.incidents` (for webhooks) and everything is broadcast to the socket rooms it matches.
 * Log first, then broadcast: a client never sees a live event it could not resume from.
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

  async incidents(events: readonly IncidentEvent[]): Promise<void> {
    const out = events.map((e) => {
      const { eventId, at } = this.ids.next();
      const payload: IncidentStreamEvent = { eventId, at, incident: e.incident };
      return { type: e.type, payload, target: incidentTarget(e.incident), record: record(e.type, payload, e.incident.severity, e.incident.entityType, e.incident.entity, e.incident.tenant) };
    });
    if (!out.length) return;
    await this.store.streamEvents.append(out.map((o) => o.record));
    await this.bus.publish(
      TOPICS.incidents,
      out.map((o) => {
        const msg: IncidentLifecycleEvent = { v: 1, eventId: o.payload.eventId, type: o.type, at: o.payload.at, incident: o.payload.incident };
        return { key: o.payload.incident.id, value: JSON.stringify(msg) };
      }),
    );
    for (const o of out) this.send(o.type, o.payload, o.target);
  }

  async anomalies(anomalies: readonly Anomaly[]): Promise<void> {
    const out = anomalies.map((a) => {
      const { eventId, at } = this.ids.next();
      const payload: AnomalyStreamEvent = { eventId, at, anomaly: a };
      const target: StreamTarget = { tenant: a.tenant, severity: a.severity, entities: [{ type: a.entityType, value: a.entity }] };
      return { payload, target, record: record('anomaly.detected', payload, a.severity, a.entityType, a.entity, a.tenant) };
    });
    if (!out.length) return;
    await this.store.streamEvents.append(out.map((o) => o.record));
    for (const o of out) this.send('anomaly.detected', o.payload, o.target);
  }

  private send(type: StreamEventType, payload: StreamPayload, target: StreamTarget): void {
    try {
      this.broadcaster?.broadcast(type, payload, roomsFor(target));
    } catch (err) {
      // Logged already: clients resume from the log. Never fail the batch over a broadcast.
      this.log.warn({ err, type, eventId: payload.eventId }, 'live broadcast failed');
    }
  }
}

function record(type: StreamEventType, payload: StreamPayload, severity: StreamEventRecord['severity'], entityType: StreamEventRecord['entityType'], entity: string, tenant: string): StreamEventRecord {
  return { eventId: payload.eventId, tenant, type, at: payload.at, severity, entityType, entity, payload: JSON.stringify(payload) };
}
