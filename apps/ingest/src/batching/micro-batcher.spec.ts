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

  it.each([
    [1, 1],
    [3, 2],
  ])('with concurrency %i runs at most %i flushes at once (as many as are ready), starting them in arrival order', async (concurrency, expected) => {
    const started: number[][] = [];
    const finish: (() => void)[] = [];
    let running = 0;
    let peak = 0;
    const b = new MicroBatcher<number, number>({
      maxItems: 1, maxWaitMs: 60_000, concurrency,
      flush: async (groups) => {
        started.push(groups.flat());
        peak = Math.max(peak, ++running);
        await new Promise<void>((resolve) => finish.push(resolve));
        running--;
        return groups.map((g) => g.length);
      },
    });
    const results = Promise.all([b.add([1]), b.add([2])]);
    await waitFor(() => started.length === expected, { what: 'the flushes allowed to start' });
    expect(started).toEqual(expected === 1 ? [[1]] : [[1], [2]]);
    while (started.length < 2 || finish.length) {
      await waitFor(() => finish.length > 0, { what: 'a flush to be running' });
      finish.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await expect(results).resolves.toEqual([1, 1]);
    expect(started).toEqual([[1], [2]]);
    expect(peak).toBe(expected);
  });

  it('drain waits for every flush in progress', async () => {
    let release: (() => void) | undefined;
    let flushed = 0;
    const b = new MicroBatcher<number, number>({
      maxItems: 100, maxWaitMs: 60_000, concurrency: 2,
      flush: async (groups) => {
        await new Promise<void>((resolve) => (release = resolve));
        flushed += groups.length;
        return groups.map(() => 0);
      },
    });
    const p = b.add([1]);
    const drained = b.drain();
    (await waitFor(() => release, { what: 'the flush to start' }))();
    await drained;
    expect(flushed).toBe(1);
    await expect(p).resolves.toBe(0);
  });

  it('starts a new batch rather than take one past maxItems, and never splits a group', async () => {
    const flushed: number[][][] = [];
    const b = new MicroBatcher<number, number>({
      maxItems: 5, maxWaitMs: 5,
      flush: async (groups) => { flushed.push(groups); return groups.map((g) => g.length); },
    });
    await Promise.all([b.add([1, 2, 3]), b.add([4, 5, 6]), b.add([7, 8, 9, 10, 11, 12])]);
    expect(flushed).toEqual([[[1, 2, 3]], [[4, 5, 6]], [[7, 8, 9, 10, 11, 12]]]);
  });
});
