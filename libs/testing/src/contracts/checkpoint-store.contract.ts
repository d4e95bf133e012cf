import type { Checkpoint, Store } from '@vigil/platform';

/**
 * The checkpoint part of the Store contract (`store.checkpoints`, migration 0005_checkpoints).
 * Semantics: one current checkpoint per (consumer group, topic, partition); the highest `updatedAt` wins, on a tie
 * the last written; bytes round-trip exactly whatever their size (adapters chunk large states); `offset` is kept
 * as written (decimal string, may exceed 2^53).
 */
export function checkpointStoreContract(name: string, makeStore: () => Promise<Store>): void {
  const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
  const key = { consumerGroup: 'vigil-detector', topic: 'vigil.access-events', partition: 3 };
  const cp = (o: Partial<Checkpoint> = {}): Checkpoint => ({ ...key, data: Uint8Array.from([1, 2, 3]), offset: '42', updatedAt: T0, ...o });
  const bytes = (c: Checkpoint | null): number[] | null => (c ? [...c.data] : null);

  describe(`Store contract (checkpoints): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store?.close();
    });

    it('has nothing for a partition never checkpointed', async () => {
      expect(await store.checkpoints.get(key)).toBeNull();
    });

    it('returns the checkpoint as written: bytes (every byte value), offset beyond 2^53, time', async () => {
      const data = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
      await store.checkpoints.put(cp({ data, offset: '18446744073709551000', updatedAt: T0 + 5 }));
      const got = await store.checkpoints.get(key);
      expect(got).toEqual({ ...key, data: expect.any(Uint8Array), offset: '18446744073709551000', updatedAt: T0 + 5 });
      expect(Buffer.from(got!.data).equals(Buffer.from(data))).toBe(true);
    });

    it('round-trips a checkpoint larger than one chunk byte for byte', async () => {
      const data = new Uint8Array(9_500_000).map((_, i) => (i * 31 + 7) & 0xff);
      await store.checkpoints.put(cp({ data }));
      const got = await store.checkpoints.get(key);
      expect(got?.data.byteLength).toBe(data.byteLength);
      expect(Buffer.from(got!.data).equals(Buffer.from(data))).toBe(true);
    });

    it('keeps the newest: a smaller newer checkpoint replaces a multi-chunk one, an older write does not', async () => {
      await store.checkpoints.put(cp({ data: new Uint8Array(9_000_000).fill(1), offset: '100', updatedAt: T0 }));
      await store.checkpoints.put(cp({ data: Uint8Array.from([2, 2]), offset: '200', updatedAt: T0 + 1000 }));
      await store.checkpoints.put(cp({ data: new Uint8Array(5_000_000).fill(9), offset: '150', updatedAt: T0 + 500 })); // late write
      const got = await store.checkpoints.get(key);
      expect([bytes(got), got?.offset, got?.updatedAt]).toEqual([[2, 2], '200', T0 + 1000]);
    });

    it('on the same updatedAt the last written wins', async () => {
      await store.checkpoints.put(cp({ data: Uint8Array.from([1]), offset: '1' }));
      await store.checkpoints.put(cp({ data: Uint8Array.from([7]), offset: '2' }));
      expect(bytes(await store.checkpoints.get(key))).toEqual([7]);
    });

    it('keeps partitions, topics and groups apart (quotes and backslashes in names included)', async () => {
      const odd = { consumerGroup: "it's \\ a group", topic: 'vigil.detector.rekeyed', partition: 0 };
      await store.checkpoints.put(cp({ data: Uint8Array.from([1]) }));
      await store.checkpoints.put({ ...odd, data: Uint8Array.from([5]), offset: '0', updatedAt: T0 });
      expect(bytes(await store.checkpoints.get(odd))).toEqual([5]);
      expect(await store.checkpoints.get({ ...key, partition: 4 })).toBeNull();
      expect(await store.checkpoints.get({ ...key, topic: 'other' })).toBeNull();
      expect(await store.checkpoints.get({ ...key, consumerGroup: 'other' })).toBeNull();
      expect(bytes(await store.checkpoints.get(key))).toEqual([1]);
    });

    it('stores an empty state', async () => {
      await store.checkpoints.put(cp({ data: new Uint8Array(0) }));
      expect(bytes(await store.checkpoints.get(key))).toEqual([]);
    });
  });
}
