import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@vigil/testing';
import type { InboundMessage } from '../ports/event-bus.js';
import { InProcessEventBus, assignPartitions } from './in-process-event-bus.js';
import { partitionForKey } from './partitioner.js';

const until = (check: () => boolean, what: string) => waitFor(check, { what, timeoutMs: 5_000, intervalMs: 5 });

describe('assignPartitions', () => {
  it.each([
    { partitions: 4, members: ['a'], want: { a: [0, 1, 2, 3] } },
    { partitions: 4, members: ['a', 'b'], want: { a: [0, 2], b: [1, 3] } },
    { partitions: 4, members: ['a', 'b', 'c'], want: { a: [0, 3], b: [1], c: [2] } },
    { partitions: 2, members: ['a', 'b', 'c'], want: { a: [0], b: [1], c: [] } },
    { partitions: 3, members: [], want: {} },
  ])('gives each of $partitions partitions to exactly one of $members', ({ partitions, members, want }) => {
    expect(Object.fromEntries(assignPartitions(partitions, members))).toEqual(want);
  });
});

describe(InProcessEventBus.name, () => {
  it('rebalances when a member joins and leaves, calling onAssigned and onRevoked', async () => {
    const bus = new InProcessEventBus({ partitions: 4 });
    const events: string[] = [];
    const opts = (name: string) => ({
      topic: 't',
      groupId: 'g',
      onAssigned: (p: number[]) => void events.push(`${name}+${p.join(',')}`),
      onRevoked: (p: number[]) => void events.push(`${name}-${p.join(',')}`),
    });
    const a = await bus.subscribe(opts('a'), async () => undefined);
    const b = await bus.subscribe(opts('b'), async () => undefined);
    await a.close();
    expect(events).toEqual(['a+0,1,2,3', 'a-1,3', 'b+1,3', 'a-0,2', 'b+0,2']);
    await b.close();
    expect(events.at(-1)).toBe('b-0,1,2,3');
    await bus.close();
  });

  it('partitions keyed messages with the Kafka murmur2 partitioner', async () => {
    const bus = new InProcessEventBus();
    const got: InboundMessage[] = [];
    await bus.publish('t', ['alpha', 'beta', 'gamma', 'delta'].map((key) => ({ key, value: key })));
    const sub = await bus.subscribe({ topic: 't', groupId: 'g' }, async (m) => void got.push(...m));
    await until(() => got.length === 4, 'four messages');
    for (const m of got) expect(m.partition).toBe(partitionForKey(m.key!, 4));
    await sub.close();
    await bus.close();
  });

  it('drops log entries once every group has committed past them', async () => {
    const bus = new InProcessEventBus({ partitions: 1 });
    let fast = 0;
    let slow = 0;
    let release = false;
    await bus.subscribe({ topic: 't', groupId: 'fast' }, async (m) => void (fast += m.length));
    await bus.subscribe({ topic: 't', groupId: 'slow', retryDelayMs: 5 }, async (m) => {
      if (!release) throw new Error('not yet');
      slow += m.length;
    });
    await bus.publish('t', Array.from({ length: 10 }, (_, i) => ({ key: null, value: `v${i}` })));
    await until(() => fast === 10, 'fast group done');
    expect(bus.retained('t')).toEqual([10]);
    release = true;
    await until(() => slow === 10, 'slow group done');
    expect(bus.retained('t')).toEqual([0]);
    await bus.close();
  });

  it('starts a group without fromBeginning at the end of the log', async () => {
    const bus = new InProcessEventBus({ partitions: 1 });
    await bus.publish('t', [{ key: 'k', value: 'old' }]);
    const got: string[] = [];
    await bus.subscribe({ topic: 't', groupId: 'late', fromBeginning: false }, async (m) => void got.push(...m.map((x) => x.value)));
    await bus.publish('t', [{ key: 'k', value: 'new' }]);
    await until(() => got.length > 0, 'a delivery');
    expect(got).toEqual(['new']);
    await bus.close();
  });

  it('keeps at most maxRetainedPerPartition entries for a group that lags', async () => {
    const bus = new InProcessEventBus({ partitions: 1, maxRetainedPerPartition: 3 });
    await bus.publish('t', Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `v${i}` })));
    expect(bus.retained('t')).toEqual([3]);
    const got: string[] = [];
    await bus.subscribe({ topic: 't', groupId: 'g' }, async (m) => void got.push(...m.map((x) => x.value)));
    await until(() => got.length === 3, 'retained entries');
    expect(got).toEqual(['v2', 'v3', 'v4']);
    await bus.close();
  });

  it('close() cuts a pending redelivery backoff short instead of waiting it out', async () => {
    const bus = new InProcessEventBus({ partitions: 1 });
    let attempts = 0;
    await bus.subscribe({ topic: 't', groupId: 'g', retryDelayMs: 10 * 60_000 }, async () => {
      attempts += 1;
      throw new Error('always failing');
    });
    await bus.publish('t', [{ key: 'k', value: 'v' }]);
    await until(() => attempts === 1, 'the first failed attempt');
    await bus.close(); // would outlast the test timeout if the 10-minute backoff timer were awaited
    expect(attempts).toBe(1);
  });

  it('refuses to publish after close', async () => {
    const bus = new InProcessEventBus();
    await bus.close();
    await expect(bus.publish('t', [{ key: null, value: 'x' }])).rejects.toThrow(/closed/);
    expect((await bus.health()).ok).toBe(false);
  });
});
