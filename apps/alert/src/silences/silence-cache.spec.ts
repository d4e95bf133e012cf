import type { Silence } from '@vigil/contracts';
import { ManualClock, type SilenceFilter, type Store } from '@vigil/platform';
import pino from 'pino';
import { SilenceCache } from './silence-cache.js';

const T0 = 1_700_000_000_000;

function aSilence(over: Partial<Silence>): Silence {
  return {
    v: 1, id: 's1', tenant: 'acme', kind: 'silence', matchers: [], startsAt: T0, endsAt: T0 + 60_000, reason: 'r', createdBy: 'k',
    createdAt: T0, updatedAt: T0, deleted: false, ...over,
  };
}

/** A silences table in memory that counts reads and can hold one read until released. */
function fakeStore(rows: Silence[]) {
  const reads: SilenceFilter[] = [];
  let gate: Promise<void> | null = null;
  const store = {
    silences: {
      async list(f: SilenceFilter): Promise<Silence[]> {
        reads.push(f);
        const snapshot = rows.filter((s) => !s.deleted && (f.tenant === undefined || s.tenant === f.tenant) && (f.endsAfter === undefined || s.endsAt > f.endsAfter));
        if (gate) await gate;
        return snapshot.sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
      },
    },
  } as unknown as Store;
  return {
    store,
    reads,
    rows,
    hold(): () => void {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

const ids = (xs: Silence[]) => xs.map((s) => s.id);
const logger = pino({ level: 'silent' });
const config = { redisUrl: null, groupPrefix: 'spec' };

describe(SilenceCache.name, () => {
  it('reads a tenant once, then answers later batches from memory, filtered as the store would (endsAt > endsAfter)', async () => {
    const t = fakeStore([aSilence({ id: 'a', endsAt: T0 + 10_000 }), aSilence({ id: 'b', startsAt: T0 + 1, endsAt: T0 + 50_000 }), aSilence({ id: 'x', tenant: 'globex' })]);
    const clock = new ManualClock(T0);
    const cache = new SilenceCache(t.store, clock, config, logger, { ttlMs: 2_000, lookbackMs: 3_600_000 });
    expect(ids(await cache.list('acme', T0))).toEqual(['a', 'b']);
    expect(ids(await cache.list('acme', T0 + 20_000))).toEqual(['b']);
    expect(ids(await cache.list('acme', T0 + 60_000))).toEqual([]);
    expect(t.reads).toEqual([{ tenant: 'acme', endsAfter: T0 - 3_600_000 }]);
    expect(ids(await cache.list('globex', T0))).toEqual(['x']);
    expect(t.reads).toHaveLength(2);
  });

  it('reads again after ttlMs, and for an anomaly older than what the held list reaches back to', async () => {
    const t = fakeStore([aSilence({ id: 'a' })]);
    const clock = new ManualClock(T0);
    const cache = new SilenceCache(t.store, clock, config, logger, { ttlMs: 2_000, lookbackMs: 60_000 });
    await cache.list('acme', T0);
    clock.advance(1_999);
    await cache.list('acme', T0);
    expect(t.reads).toHaveLength(1);
    t.rows.push(aSilence({ id: 'b' }));
    clock.advance(1);
    expect(ids(await cache.list('acme', T0))).toEqual(['a', 'b']);
    expect(t.reads).toHaveLength(2);
    // Detected two hours before now: outside the held list's reach, read with the anomaly's own bound.
    expect(ids(await cache.list('acme', T0 - 7_200_000))).toEqual(['a', 'b']);
    expect(t.reads.at(-1)).toEqual({ tenant: 'acme', endsAfter: T0 - 7_200_000 });
  });

  it('a change made through this process is seen by the next read at once', async () => {
    const t = fakeStore([aSilence({ id: 'a' })]);
    const cache = new SilenceCache(t.store, new ManualClock(T0), config, logger, { ttlMs: 60_000, lookbackMs: 3_600_000 });
    expect(ids(await cache.list('acme', T0))).toEqual(['a']);
    t.rows.push(aSilence({ id: 'b' }));
    t.rows[0]!.deleted = true;
    cache.changed();
    expect(ids(await cache.list('acme', T0))).toEqual(['b']);
  });

  it('does not keep a read that was under way when a change was announced', async () => {
    const t = fakeStore([aSilence({ id: 'a' })]);
    const cache = new SilenceCache(t.store, new ManualClock(T0), config, logger, { ttlMs: 60_000, lookbackMs: 3_600_000 });
    const release = t.hold();
    const early = cache.list('acme', T0);
    t.rows.push(aSilence({ id: 'b' }));
    cache.changed();
    release();
    expect(ids(await early)).toEqual(['a']);
    expect(ids(await cache.list('acme', T0))).toEqual(['a', 'b']);
    expect(t.reads).toHaveLength(2);
  });

  it('shares one read among concurrent misses, and does not keep a failed read', async () => {
    const t = fakeStore([aSilence({ id: 'a' })]);
    const cache = new SilenceCache(t.store, new ManualClock(T0), config, logger, { ttlMs: 60_000, lookbackMs: 3_600_000 });
    const [x, y] = await Promise.all([cache.list('acme', T0), cache.list('acme', T0 + 1)]);
    expect([ids(x), ids(y)]).toEqual([['a'], ['a']]);
    expect(t.reads).toHaveLength(1);
    let down = true;
    const flaky = { silences: { list: (f: SilenceFilter) => (down ? Promise.reject(new Error('store down')) : t.store.silences.list(f)) } } as unknown as Store;
    const cache2 = new SilenceCache(flaky, new ManualClock(T0), config, logger, { ttlMs: 60_000, lookbackMs: 3_600_000 });
    await expect(cache2.list('acme', T0)).rejects.toThrow('store down');
    down = false;
    expect(ids(await cache2.list('acme', T0))).toEqual(['a']);
  });
});
