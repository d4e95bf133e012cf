import type { Clock, WebhookRepository, WebhookSubscription } from '@vigil/platform';

interface Entry<V> {
  value: Promise<V>;
  until: number;
}

/**
 * Short-lived read-through cache of subscriptions, so a burst of incidents or deliveries does not query the store
 * once per message. Writes through this process invalidate it at once; other instances see a change within `ttlMs`.
 * Concurrent misses on one key share one store read (the pending read is what is cached), so a burst arriving on an
 * empty or expired cache makes one query, not one per message; a failed read is not kept.
 */
export class SubscriptionCache {
  private byId = new Map<string, Entry<WebhookSubscription | null>>();
  private byTenant = new Map<string, Entry<WebhookSubscription[]>>();

  constructor(
    private readonly repo: WebhookRepository,
    private readonly clock: Clock,
    private readonly ttlMs = 2_000,
  ) {}

  get(id: string): Promise<WebhookSubscription | null> {
    return this.read(this.byId, id, () => this.repo.getSubscription(id));
  }

  listForTenant(tenant: string): Promise<WebhookSubscription[]> {
    return this.read(this.byTenant, tenant, () => this.repo.listSubscriptions(tenant));
  }

  invalidate(): void {
    this.byId = new Map();
    this.byTenant = new Map();
  }

  private read<V>(map: Map<string, Entry<V>>, key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock.now();
    const hit = map.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    // ttlMs 0: no caching, but reads already in flight are still shared until they settle.
    const entry: Entry<V> = { value, until: this.ttlMs > 0 ? now + this.ttlMs : Number.POSITIVE_INFINITY };
    map.set(key, entry);
    const forget = () => {
      if (map.get(key) === entry) map.delete(key);
    };
    value.then(() => (this.ttlMs > 0 ? undefined : forget()), forget);
    return value;
  }
}
