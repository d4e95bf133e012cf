import { Inject, Injectable } from '@nestjs/common';
import { SEVERITY_RANK } from '@vigil/contracts';
import { CLOCK, WORK_QUEUE, type Clock, type WebhookSubscription, type WorkQueue } from '@vigil/platform';
import { SubscriptionCache } from './subscription-cache.js';
import { webhookMessageId, webhookPayload, type IncidentWebhookEvent, type WebhookJob } from './webhook-job.js';

/** True when the subscription wants this event: its tenant, an event type it lists (none = all), severity ≥ its minimum. */
export function subscriptionMatches(s: WebhookSubscription, e: IncidentWebhookEvent): boolean {
  return (
    s.enabled &&
    !s.deleted &&
    s.tenant === e.incident.tenant &&
    (s.events.length === 0 || s.events.includes(e.type)) &&
    SEVERITY_RANK[e.incident.severity] >= SEVERITY_RANK[s.minSeverity]
  );
}

/**
 * The entry point of the incident lifecycle into webhooks: `dispatch({ type, incident })` enqueues one signed-later
 * message per matching subscription on the durable work queue (BullMQ or SQLite) and returns how many. Idempotent per
 * (subscription, event). Delivery, retries and dead letters happen in WebhookDeliveryWorker.
 */
@Injectable()
export class WebhookDispatcher {
  constructor(
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue<WebhookJob>,
    private readonly subscriptions: SubscriptionCache,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async dispatch(event: IncidentWebhookEvent): Promise<number> {
    const subs = (await this.subscriptions.listForTenant(event.incident.tenant)).filter((s) => subscriptionMatches(s, event));
    if (subs.length === 0) return 0;
    const now = this.clock.now();
    await this.queue.enqueue(
      subs.map((s) => {
        const messageId = webhookMessageId(s.id, event);
        const job: WebhookJob = {
          v: 1, messageId, subscriptionId: s.id, tenant: s.tenant, type: event.type,
          body: JSON.stringify(webhookPayload(messageId, event, now)), createdAt: now, attemptsBefore: 0, deferrals: 0,
        };
        return { id: messageId, data: job };
      }),
    );
    return subs.length;
  }
}
