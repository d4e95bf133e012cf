import { createHash } from 'node:crypto';
import { z } from 'zod';
import { WebhookEventType, type Incident, type WebhookPayloadV1 } from '@vigil/contracts';

/**
 * One queued webhook message for one subscription. The body is serialised once, at dispatch, so every attempt
 * signs and sends the same bytes under the same `webhook-id` (receivers dedupe on it); only `webhook-timestamp`
 * is per attempt.
 */
export const WebhookJob = z.object({
  v: z.literal(1),
  /** The `webhook-id` header and the payload id; also `eventId` of the delivery records. */
  messageId: z.string().min(1),
  subscriptionId: z.string().min(1),
  tenant: z.string().min(1),
  type: WebhookEventType,
  body: z.string(),
  createdAt: z.number().int().nonnegative(),
  /** Attempts made by earlier jobs of this message (a message is re-queued under a new job id while its endpoint's circuit is open). */
  attemptsBefore: z.number().int().nonnegative(),
  deferrals: z.number().int().nonnegative(),
});
export type WebhookJob = z.infer<typeof WebhookJob>;

/** What the incident lifecycle hands to the dispatcher. */
export interface IncidentWebhookEvent {
  type: WebhookEventType;
  incident: Incident;
  /** Id of the lifecycle event (IncidentLifecycleEvent.eventId) when there is one: redeliveries of it dedupe. */
  eventId?: string;
  /** When it happened (epoch ms); default: now. */
  at?: number;
}

/**
 * Deterministic per (subscription, event), so a replayed or twice-dispatched lifecycle event enqueues the same job
 * id, which the work queue ignores the second time.
 */
export function webhookMessageId(subscriptionId: string, event: IncidentWebhookEvent): string {
  const what = event.eventId ?? `${event.incident.id}:${event.incident.revision}:${event.type}`;
  return 'msg_' + createHash('sha256').update(`${subscriptionId}|${what}`).digest('base64url').slice(0, 27);
}

export function webhookPayload(messageId: string, event: IncidentWebhookEvent, now: number): WebhookPayloadV1 {
  return {
    version: 'v1',
    id: messageId,
    type: event.type,
    timestamp: event.at ?? now,
    groupKey: `${event.incident.tenant}/${event.incident.id}`,
    data: { incident: event.incident },
  };
}

/** Job id of the n-th re-queue of a message (n = 0: the message id itself). */
export function webhookJobId(messageId: string, deferrals: number): string {
  return deferrals === 0 ? messageId : `${messageId}~d${deferrals}`;
}
