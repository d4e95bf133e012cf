import type { AuditEntry, Store } from '@vigil/platform';

/**
 * The audit log part of the Store contract (kept in its own file so it can grow without touching the main suite).
 * Semantics: append is idempotent by id; `list` is newest first (ties by id ascending), filters AND together,
 * time ranges are [from, to), and `limit` keeps the newest.
 */
export function auditStoreContract(name: string, makeStore: () => Promise<Store>): void {
  const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
  let n = 0;
  const entry = (o: Partial<AuditEntry> = {}): AuditEntry => {
    n += 1;
    return {
      id: `aud-${String(n).padStart(4, '0')}`, tenant: 'acme', at: T0 + n * 1000, actor: 'key:k1', action: 'api_key.created',
      targetType: 'api_key', targetId: `key-${n}`, details: JSON.stringify({ name: "ci 'pipeline' \\ \"x\"", role: 'viewer' }), ...o,
    };
  };

  describe(`Store contract (audit log): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store?.close();
    });

    it('returns appended entries newest first with every field intact, once even when appended twice', async () => {
      const a = entry();
      const b = entry({ action: 'webhook.deleted', targetType: 'webhook', targetId: 'whs-1', details: '{}' });
      await store.audit.append([a, b]);
      await store.audit.append([a]);
      expect(await store.audit.list({})).toEqual([b, a]);
    });

    it('filters by tenant, action, actor, target and [from, to), and limit keeps the newest', async () => {
      const xs = [
        entry({ tenant: 'acme' }),
        entry({ tenant: 'globex' }),
        entry({ action: 'api_key.revoked', actor: 'key:k2' }),
        entry({ action: 'api_key.revoked', targetId: 'key-x' }),
      ];
      await store.audit.append(xs);
      const ids = (es: AuditEntry[]) => es.map((e) => e.id);
      expect(ids(await store.audit.list({ tenant: 'globex' }))).toEqual([xs[1]!.id]);
      expect(ids(await store.audit.list({ action: 'api_key.revoked' }))).toEqual([xs[3]!.id, xs[2]!.id]);
      expect(ids(await store.audit.list({ actor: 'key:k2' }))).toEqual([xs[2]!.id]);
      expect(ids(await store.audit.list({ targetId: 'key-x' }))).toEqual([xs[3]!.id]);
      expect(ids(await store.audit.list({ from: xs[1]!.at, to: xs[3]!.at }))).toEqual([xs[2]!.id, xs[1]!.id]);
      expect(ids(await store.audit.list({ limit: 2 }))).toEqual([xs[3]!.id, xs[2]!.id]);
    });

    it('refuses a limit that is not a positive integer', async () => {
      await expect(store.audit.list({ limit: 0 })).rejects.toThrow(RangeError);
    });
  });
}
