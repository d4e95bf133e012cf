import { waitFor } from '@vigil/testing';
import { MicroBatcher } from './micro-batcher.js';

describe(MicroBatcher.name, () => {
  it('flushes at maxItems and answers each caller with its own group result', async () => {
    const flushed: number[][][] = [];
    const b = new MicroBatcher<number, number>({
      maxItems: 4, maxWaitMs: 60_000,
      flush: async (groups) => { flushed.push(groups); return groups.map((g) => g.reduce((s, x) => s + x, 0)); },
    });
    const [a, c] = await Promise.all([b.add([1, 2]), b.add([3, 4])]);
    expect([a, c]).toEqual([3, 7]);
    expect(flushed).toEqual([[[1, 2], [3, 4]]]);
    expect(b.pending()).toBe(0);
  });

  it('flushes a partial batch after maxWaitMs', async () => {
    const b = new MicroBatcher<string, number>({ maxItems: 100, maxWaitMs: 5, flush: async (g) => g.map((x) => x.length) });
    await expect(b.add(['x', 'y', 'z'])).resolves.toBe(3);
  });

  it('rejects every caller of a failed flush and counts their items as pending until then', async () => {
    let fail: ((e: Error) => void) | undefined;
    const b = new MicroBatcher<number, number>({
      maxItems: 2, maxWaitMs: 60_000,
      flush: () => new Promise((_, reject) => { fail = reject; }),
    });
    const p1 = b.add([1]);
    const p2 = b.add([2]);
    expect(b.pending()).toBe(2);
    (await waitFor(() => fail, { what: 'the flush to start' }))(new Error('store down'));
    await expect(p1).rejects.toThrow('store down');
    await expect(p2).rejects.toThrow('store down');
    expect(b.pending()).toBe(0);
  });
});
