import { z } from 'zod';
import { EntityType, EpochMs, Severity, Tenant } from './common.js';
import { Incident } from './incident.js';
import { StreamEventType } from './socket-events.js';

/**
 * Entity of a `token_ip` anomaly: `<tokenId>|<ip>`. Split at the LAST `|` (an IP never contains one), so a token id
 * may. The alert service groups a token_ip anomaly into the token's incident and lists the IP as related.
 */
export const TOKEN_IP_SEPARATOR = '|';
export function tokenIpEntity(tokenId: string, ip: string): string {
  return `${tokenId}${TOKEN_IP_SEPARATOR}${ip}`;
}
export function splitTokenIpEntity(entity: string): { tokenId: string; ip: string } | null {
  const i = entity.lastIndexOf(TOKEN_IP_SEPARATOR);
  return i > 0 && i < entity.length - 1 ? { tokenId: entity.slice(0, i), ip: entity.slice(i + 1) } : null;
}

/** Fields of an anomaly a silence can match on (equality; `entity` also takes a trailing `*` as a prefix match). */
export const SilenceField = z.enum(['detector', 'entityType', 'entity', 'metric', 'severity']);
export type SilenceField = z.infer<typeof SilenceField>;
export const SilenceMatcher = z.object({ field: SilenceField, value: z.string().min(1).max(1024) });
export type SilenceMatcher = z.infer<typeof SilenceMatcher>;

/**
 * A silence: anomalies of `tenant` matching ALL matchers during [startsAt, endsAt) are recorded but do not notify
 * (no incident, no live event, no webhook). Kinds: `silence` (made by a person), `maintenance` (a planned window,
 * usually with no matchers = the whole tenant), `suppression` (made by marking an incident a false positive).
 */
export const Silence = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(128),
  tenant: Tenant,
  kind: z.enum(['silence', 'maintenance', 'suppression']),
  matchers: z.array(SilenceMatcher).max(16),
  startsAt: EpochMs,
  endsAt: EpochMs,
  reason: z.string().max(1024),
  createdBy: z.string().max(256),
  createdAt: EpochMs,
  /** Version: the store keeps the highest. */
  updatedAt: EpochMs,
  deleted: z.boolean(),
});
export type Silence = z.infer<typeof Silence>;

/**
 * One entry of the live-event log (what the `/alerts` socket namespace emitted), kept so a reconnecting client can
 * resume from its last event id. `eventId` sorts lexically in emission order: `<13-digit epoch ms>-<6-digit sequence>-<instance>`.
 * `payload` is the JSON of the emitted IncidentStreamEvent / AnomalyStreamEvent.
 */
export interface StreamEventRecord {
  eventId: string;
  tenant: string;
  type: StreamEventType;
  at: number;
  severity: Severity;
  entityType: EntityType;
  entity: string;
  payload: string;
}

/** Incident lifecycle event on TOPICS.incidents (keyed by incident id); the webhook dispatcher consumes it. */
export const IncidentLifecycleEvent = z.object({
  v: z.literal(1),
  /** Same id as the live event; consumers dedupe on it. */
  eventId: z.string(),
  type: z.enum(['incident.opened', 'incident.updated', 'incident.resolved']),
  at: EpochMs,
  incident: Incident,
});
export type IncidentLifecycleEvent = z.infer<typeof IncidentLifecycleEvent>;
