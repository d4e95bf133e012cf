import { Inject, Injectable } from '@nestjs/common';
import { SEVERITY_RANK } from '@vigil/contracts';
import { CLOCK, WORK_QUEUE, type Clock, type WebhookSubscription, type WorkQueue } from '@vigil/platform';
import { SubscriptionCache } from './subscription-cache.js';
import { webhookMessageId, webhookPayload, type IncidentWebhookEvent, type WebhookJob } from './webhook-job.js';

/**
 * How far before a subscription's creation an event may have happened and still be delivered to it: room for the
 * clocks of two instances (the one that created the subscription, the one that stamped the event) to disagree.
 */
export const SUBSCRIPTION_CLOCK_SKEW_MS = 60_000;

/**
 * True when the subscription wants this event: its tenant, an event type it lists (none = all), severity ≥ its
 * minimum, and an event that happened after the subscription was created (give or take SUBSCRIPTION_CLOCK_SKEW_MS;
 * an event without a time counts as now). The last rule is what keeps a new subscription from receiving history: the
 * webhooks consumer group of a new deployment, or one whose offsets expired, reads `vigil.incidents` from the
 * beginning, and its subscriptions would otherwise get every incident event the topic still holds.
 */
export function subscriptionMatches(s: WebhookSubscription, e: IncidentWebhookEvent): boolean {
  return (
    s.enabled &&
    !s.deleted &&
    s.tenant === e.incident.tenant &&
    (s.events.length === 0 || s.events.includes(e.type)) &&
    SEVERITY_RANK[e.incident.severity] >= SEVERITY_RANK[s.minSeverity] &&
    (e.at === undefined || e.at >= s.createdAt - SUBSCRIPTION_CLOCK_SKEW_MS)
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
