import type { WorkQueueSpec } from '@vigil/platform';

/** The durable queue of outbound webhook deliveries (WORK_QUEUE in the alert and standalone processes). */
export const WEBHOOK_DELIVERY_QUEUE: WorkQueueSpec = {
  name: 'webhook-deliveries',
  retry: { maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 10 * 60_000 },
};
