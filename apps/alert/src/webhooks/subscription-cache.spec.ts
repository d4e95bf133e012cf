import { ManualClock, type WebhookRepository, type WebhookSubscription } from '@vigil/platform';
import { aWebhookSubscription } from '@vigil/testing';
import { SubscriptionCache } from './subscription-cache.js';

/** A repository that counts reads and answers when told to. */
function slowRepo(subs: WebhookSubscription[]) {
  const reads = { get: 0, list: 0 };
  let fail = false;
  const repo: Pick<WebhookRepository, 'getSubscription' | 'listSubscriptions'> = {
    async getSubscription(id) {
      reads.get += 1;
      await new Promise((r) => setImmediate(r));
      if (fail) throw new Error('store down');
      return subs.find((s) => s.id === id) ?? null;
    },
    async listSubscriptions(tenant) {
      reads.list += 1;
      await new Promise((r) => setImmediate(r));
      return subs.filter((s) => s.tenant === tenant);
    },
  };
  return { repo: repo as WebhookRepository, reads, failNext: (f: boolean) => (fail = f) };
}

describe(SubscriptionCache.name, () => {
  const sub = aWebhookSubscription({ tenant: 'acme' });

  it('makes one store read for a burst of concurrent misses on one subscription and one tenant', async () => {
    const { repo, reads } = slowRepo([sub]);
    const cache = new SubscriptionCache(repo, new ManualClock(0), 2_000);
    const got = await Promise.all(Array.from({ length: 50 }, () => cache.get(sub.id)));
    const lists = await Promise.all(Array.from({ length: 50 }, () => cache.listForTenant('acme')));
    expect(got.every((s) => s?.id === sub.id)).toBe(true);
    expect(lists.every((l) => l.length === 1)).toBe(true);
    expect(reads).toEqual({ get: 1, list: 1 });
  });

  it('reads again once the entry expired, and after invalidate', async () => {
    const { repo, reads } = slowRepo([sub]);
    const clock = new ManualClock(0);
    const cache = new SubscriptionCache(repo, clock, 2_000);
    await cache.get(sub.id);
    clock.advance(1_999);
    await cache.get(sub.id);
    expect(reads.get).toBe(1);
    clock.advance(1);
    await cache.get(sub.id);
    expect(reads.get).toBe(2);
    cache.invalidate();
    await cache.get(sub.id);
    expect(reads.get).toBe(3);
  });

  it('does not keep a failed read', async () => {
    const { repo, reads, failNext } = slowRepo([sub]);
    const cache = new SubscriptionCache(repo, new ManualClock(0), 2_000);
    failNext(true);
    await expect(cache.get(sub.id)).rejects.toThrow('store down');
    failNext(false);
    await expect(cache.get(sub.id)).resolves.toMatchObject({ id: sub.id });
    expect(reads.get).toBe(2);
  });

  it('with ttl 0 shares only reads in flight: every later call reads the store', async () => {
    const { repo, reads } = slowRepo([sub]);
    const cache = new SubscriptionCache(repo, new ManualClock(0), 0);
    await Promise.all([cache.get(sub.id), cache.get(sub.id)]);
    await cache.get(sub.id);
    expect(reads.get).toBe(2);
  });
});
