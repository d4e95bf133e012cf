import type { WebhookDelivery } from '@vigil/platform';
import { aDelivery } from '@vigil/testing';
import { DeliveryLogWriter, type WriterTimers } from './delivery-log-writer.js';

/** Timers fired by hand: `elapse(ms)` runs every timer due by then. */
class HandTimers implements WriterTimers {
  private now = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    this.seq += 1;
    this.due.set(this.seq, { at: this.now + ms, fn });
    return this.seq;
  }
  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }
  get armed(): number {
    return this.due.size;
  }
  elapse(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.due]) {
      if (t.at <= this.now) {
        this.due.delete(id);
        t.fn();
      }
    }
  }
}

/** A store write that records each batch and completes (or fails) when told to. */
function manualStore() {
  const batches: string[][] = [];
  const open: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const write = (rows: readonly WebhookDelivery[]): Promise<void> => {
    batches.push(rows.map((r) => r.id));
    return new Promise<void>((resolve, reject) => open.push({ resolve, reject }));
  };
  return { batches, write, complete: () => open.shift()?.resolve(), fail: (e: Error) => open.shift()?.reject(e) };
}

const settled = () => new Promise((r) => setImmediate(r));

function track(p: Promise<void>) {
  const s = { state: 'pending' as 'pending' | 'written' | 'failed', error: undefined as unknown };
  p.then(
    () => (s.state = 'written'),
    (e: unknown) => {
      s.state = 'failed';
      s.error = e;
    },
  );
  return s;
}

describe(DeliveryLogWriter.name, () => {
  it('writes a batch as soon as it holds maxRows rows, without waiting for the timer', async () => {
    const timers = new HandTimers();
    const store = manualStore();
    const writer = new DeliveryLogWriter({ write: store.write, maxRows: 3, maxDelayMs: 50, timers });

    const calls = ['a', 'b', 'c', 'd'].map((id) => track(writer.record(aDelivery({ id }))));
    await settled();
    expect(store.batches).toEqual([['a', 'b', 'c']]);

    store.complete();
    await settled();
    expect(calls.map((c) => c.state)).toEqual(['written', 'written', 'written', 'pending']);
    expect(writer.pendingRows).toBe(1);
  });

  it('writes a partial batch maxDelayMs after its first row', async () => {
    const timers = new HandTimers();
    const store = manualStore();
    const writer = new DeliveryLogWriter({ write: store.write, maxRows: 100, maxDelayMs: 20, timers });

    const first = track(writer.record(aDelivery({ id: 'a' })));
    timers.elapse(10);
    const second = track(writer.record(aDelivery({ id: 'b' })));
    await settled();
    expect(store.batches).toEqual([]);

    timers.elapse(10);
    await settled();
    expect(store.batches).toEqual([['a', 'b']]);
    expect([first.state, second.state]).toEqual(['pending', 'pending']);

    store.complete();
    await settled();
    expect([first.state, second.state]).toEqual(['written', 'written']);
    expect(timers.armed).toBe(0);
  });

  it('keeps one write in flight: rows recorded meanwhile go into the next batch, written when the first ends if due', async () => {
    const timers = new HandTimers();
    const store = manualStore();
    const writer = new DeliveryLogWriter({ write: store.write, maxRows: 100, maxDelayMs: 20, timers });

    const first = track(writer.record(aDelivery({ id: 'a' })));
    timers.elapse(20);
    const second = track(writer.record(aDelivery({ id: 'b' })));
    timers.elapse(20);
    const third = track(writer.record(aDelivery({ id: 'c' })));
    await settled();
    expect(store.batches).toEqual([['a']]);

    store.complete();
    await settled();
    expect(store.batches).toEqual([['a'], ['b', 'c']]);
    expect([first.state, second.state, third.state]).toEqual(['written', 'pending', 'pending']);

    store.complete();
    await settled();
    expect([second.state, third.state]).toEqual(['written', 'written']);
  });

  it('rejects every caller of a failed batch with its error and goes on with the next batch', async () => {
    const timers = new HandTimers();
    const store = manualStore();
    const writer = new DeliveryLogWriter({ write: store.write, maxRows: 2, maxDelayMs: 20, timers });

    const failed = [track(writer.record(aDelivery({ id: 'a' }))), track(writer.record(aDelivery({ id: 'b' })))];
    await settled();
    store.fail(new Error('ClickHouse unavailable'));
    await settled();
    expect(failed.map((c) => [c.state, (c.error as Error).message])).toEqual([
      ['failed', 'ClickHouse unavailable'],
      ['failed', 'ClickHouse unavailable'],
    ]);

    const later = track(writer.record(aDelivery({ id: 'c' })));
    timers.elapse(20);
    await settled();
    store.complete();
    await settled();
    expect(store.batches).toEqual([['a', 'b'], ['c']]);
    expect(later.state).toBe('written');
  });

  it('rejects the callers of a write that throws synchronously', async () => {
    const writer = new DeliveryLogWriter({
      write: () => {
        throw new Error('closed');
      },
      maxRows: 1,
      timers: new HandTimers(),
    });

    await expect(writer.record(aDelivery())).rejects.toThrow('closed');
  });

  it('flush writes every pending row now, in batches of maxRows, and waits for them', async () => {
    const timers = new HandTimers();
    const written: string[][] = [];
    const writer = new DeliveryLogWriter({
      write: async (rows) => {
        written.push(rows.map((r) => r.id));
      },
      maxRows: 2,
      maxDelayMs: 1_000,
      timers,
    });
    const calls = ['a', 'b', 'c', 'd', 'e'].map((id) => track(writer.record(aDelivery({ id }))));

    await writer.flush();
    await settled();

    expect(written).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(calls.every((c) => c.state === 'written')).toBe(true);
    expect(timers.armed).toBe(0);
  });
});
