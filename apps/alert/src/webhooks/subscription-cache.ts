import type { Clock, WebhookRepository, WebhookSubscription } from '@vigil/platform';

/**
 * Short-lived read-through cache of subscriptions, so a burst of incidents or deliveries does not query the store
 * once per message. Writes through this process invalidate it at once; other instances see a change within `ttlMs`.
 */
export class SubscriptionCache {
  private byId = new Map<string, { value: WebhookSubscription | null; until: number }>();
  private byTenant = new Map<string, { value: WebhookSubscription[]; until: number }>();

  constructor(
    private readonly repo: WebhookRepository,
    private readonly clock: Clock,
    private readonly ttlMs = 2_000,
  ) {}

  async get(id: string): Promise<WebhookSubscription | null> {
    const now = this.clock.now();
    const hit = this.byId.get(id);
    if (hit && hit.until > now) return hit.value;
    const value = await this.repo.getSubscription(id);
    this.byId.set(id, { value, until: now + this.ttlMs });
    return value;
  }

  async listForTenant(tenant: string): Promise<WebhookSubscription[]> {
    const now = this.clock.now();
    const hit = this.byTenant.get(tenant);
    if (hit && hit.until > now) return hit.value;
    const value = await this.repo.listSubscriptions(tenant);
    this.byTenant.set(tenant, { value, until: now + this.ttlMs });
    return value;
  }

  invalidate(): void {
    this.byId = new Map();
    this.byTenant = new Map();
  }
}
