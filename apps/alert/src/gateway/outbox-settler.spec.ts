import { ManualClock, type OutboxEntry } from '@vigil/platform';
import { waitFor } from '@vigil/testing';
import pino from 'pino';
import { OutboxSettler } from './outbox-settler.js';

const entry = (id: string): OutboxEntry => ({ id, key: 'k', payload: '{}', createdAt: 1 });

/** An outbox whose markDone calls are recorded, and fail while `failing` is set. */
function recordingOutbox() {
  const calls: string[][] = [];
  const state = { failing: false };
  return {
    calls,
    state,
    outbox: {
      markDone(entries: OutboxEntry[]): Promise<void> {
        if (state.failing) return Promise.reject(new Error('injected: store down'));
        calls.push(entries.map((e) => e.id));
        return Promise.resolve();
      },
    },
  };
}

const log = pino({ level: 'silent' });

describe(OutboxSettler.name, () => {
  it('writes the marks of every settle within the linger in one call, and holds them until it is written', async () => {
    const { outbox, calls } = recordingOutbox();
    const settler = new OutboxSettler(outbox, new ManualClock(0), log, { lingerMs: 30, maxHeld: 100 });
    settler.settle([entry('a'), entry('b')]);
    settler.settle([entry('c')]);
    expect(settler.holds('a') && settler.holds('c')).toBe(true);
    expect(calls).toEqual([]);
    await waitFor(() => calls.length > 0);
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(settler.holds('a')).toBe(false);
    expect(settler.size).toBe(0);
  });

  it('keeps the marks of a failed write and writes them with the next one', async () => {
    const { outbox, calls, state } = recordingOutbox();
    const settler = new OutboxSettler(outbox, new ManualClock(0), log, { lingerMs: 10, maxHeld: 100 });
    state.failing = true;
    settler.settle([entry('a')]);
    await settler.flush();
    expect(settler.holds('a')).toBe(true);
    state.failing = false;
    settler.settle([entry('b')]);
    await waitFor(() => calls.length > 0);
    expect(calls).toEqual([['a', 'b']]);
    expect(settler.size).toBe(0);
  });

  it('lets the oldest marks go past maxHeld (they stay pending in the store, for the relay)', () => {
    const { outbox } = recordingOutbox();
    const settler = new OutboxSettler(outbox, new ManualClock(0), log, { lingerMs: 60_000, maxHeld: 2 });
    settler.settle([entry('a'), entry('b'), entry('c')]);
    expect([settler.holds('a'), settler.holds('b'), settler.holds('c')]).toEqual([false, true, true]);
  });

  it('writes what it holds on close, and every later mark at once', async () => {
    const { outbox, calls } = recordingOutbox();
    const settler = new OutboxSettler(outbox, new ManualClock(0), log, { lingerMs: 60_000, maxHeld: 100 });
    settler.settle([entry('a')]);
    await settler.close();
    expect(calls).toEqual([['a']]);
    settler.settle([entry('b')]);
    await waitFor(() => calls.length === 2);
    expect(calls).toEqual([['a'], ['b']]);
  });
});
