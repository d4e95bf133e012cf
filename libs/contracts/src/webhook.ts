import { z } from 'zod';
import { EpochMs } from './common.js';
import { Incident } from './incident.js';

export const WebhookEventType = z.enum(['incident.opened', 'incident.updated', 'incident.resolved']);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/**
 * Outbound webhook payload, version 1. Signed per the Standard Webhooks scheme
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
 */
export const WebhookPayloadV1 = z.object({
  version: z.literal('v1'),
  /** Unique per delivery event; equals the `webhook-id` header. Receivers dedupe on it. */
  id: z.string(),
  type: WebhookEventType,
  timestamp: EpochMs,
  /** Stable key for grouping notifications about one incident. */
  groupKey: z.string(),
  data: z.object({ incident: Incident }),
});
export type WebhookPayloadV1 = z.infer<typeof WebhookPayloadV1>;
