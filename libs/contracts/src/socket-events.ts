import { z } from 'zod';
import { EntityType, EpochMs, Severity } from './common.js';
import { Anomaly } from './anomaly.js';
import { Incident } from './incident.js';

export const SOCKET_NAMESPACE = '/alerts';

export const StreamEventType = z.enum(['incident.opened', 'incident.updated', 'incident.resolved', 'anomaly.detected']);
export type StreamEventType = z.infer<typeof StreamEventType>;

/** Every live event carries a monotonically sortable id so a reconnecting client can resume. */
export interface IncidentStreamEvent { eventId: string; at: number; incident: Incident }
export interface AnomalyStreamEvent { eventId: string; at: number; anomaly: Anomaly }

export interface ServerToClientEvents {
  'incident.opened': (e: IncidentStreamEvent) => void;
  'incident.updated': (e: IncidentStreamEvent) => void;
  'incident.resolved': (e: IncidentStreamEvent) => void;
  'anomaly.detected': (e: AnomalyStreamEvent) => void;
}

export const SubscribeRequest = z.object({
  tenant: z.string().min(1).optional(),
  minSeverity: Severity.optional(),
  entityType: EntityType.optional(),
  entity: z.string().optional(),
  /** Resume after this event id: the server replays what the client missed. */
  lastEventId: z.string().optional(),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: { ok: true; rooms: string[]; replayed: number } | { ok: false; error: string }) => void) => void;
}

export const StreamEvent = z.object({ eventId: z.string(), at: EpochMs, type: StreamEventType });
