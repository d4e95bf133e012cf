/// <reference types="jest" />
// Jest's globals rather than '@jest/globals', so importing @vigil/testing outside Jest (bench scripts) still works.
import { partitionForKey } from '@vigil/platform';
import type { BatchContext, EventBus, InboundMessage, OutboundMessage, SubscribeOptions, Subscription } from '@vigil/platform';
import { uniqueName, waitFor } from '../wait-for.js';

export interface EventBusContractOptions {
  /** Partitions of a topic created on first use (4 for both adapters as configured by default). */
  partitions: number;
  /** Per-test timeout (a Kafka group join alone takes seconds). */
  testTimeoutMs?: number;
  /** Upper bound for each waitFor in the suite. */
  waitTimeoutMs?: number;
  /**
   * Adapter-specific subscription options added to every subscription of the suite (e.g. the Kafka adapter's
   * `pipelined`), so each mode of an adapter is held to the same contract.
   */
  extraSubscribeOptions?: Readonly<Record<string, unknown>>;
}

/**
 * The behaviour every EventBus adapter must show (libs/platform/src/ports/event-bus.ts). Each test uses its
 * own topic and groups. `makeBus` is called once per test; the suite closes what it makes.
 */
export function eventBusContract(name: string, makeBus: () => Promise<EventBus>, opts: EventBusContractOptions): void {
  const testTimeout = opts.testTimeoutMs ?? 60_000;
  const waitTimeoutMs = opts.waitTimeoutMs ?? 45_000;
  const extra = opts.extraSubscribeOptions ?? {};
  const until = <T>(check: () => T, what: string) => waitFor(check, { what, timeoutMs: waitTimeoutMs, intervalMs: 25 });

  describe(`EventBus contract: ${name}`, () => {
    let bus: EventBus;
    const open: Subscription[] = [];

    beforeEach(async () => {
      bus = await makeBus();
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
      await bus.close();
    });

    /** Subscribes and records every delivered message; the subscription is closed after the test. */
    async function consume(options: SubscribeOptions, onBatch?: (batch: InboundMessage[], ctx: BatchContext) => Promise<void>) {
      const received: InboundMessage[] = [];
      const batches: InboundMessage[][] = [];
      const assigned = new Set<number>();
      const sub = await bus.subscribe(
        {
          ...extra,
          ...options,
          onAssigned: (ps) => ps.forEach((p) => assigned.add(p)),
          onRevoked: (ps) => ps.forEach((p) => assigned.delete(p)),
        },
        async (batch, ctx) => {
          batches.push(batch);
          if (onBatch) await onBatch(batch, ctx);
          received.push(...batch);
        },
      );
      open.push(sub);
      return { sub, received, batches, assigned };
    }

    const values = (ms: InboundMessage[]) => ms.map((m) => m.value);
    const ids = (ms: InboundMessage[]) => ms.map((m) => `${m.partition}@${m.offset}`);

    it(
      'reports itself healthy',
      async () => {
        const h = await bus.health();
        expect(h.ok).toBe(true);
        expect(h.name).toEqual(expect.any(String));
      },
      testTimeout,
    );

    it(
      'delivers every published message exactly once with key, value and headers intact',
      async () => {
        const topic = uniqueName('bus_deliver');
        const sent: OutboundMessage[] = Array.from({ length: 60 }, (_, i) => ({
          key: i % 7 === 0 ? null : `client-${i % 10}`,
          value: JSON.stringify({ n: i, path: `/v1/orders/${i}` }),
          headers: { 'x-trace-id': `trace-${i}`, 'content-type': 'application/json' },
        }));
        await bus.publish(topic, sent.slice(0, 30));
        await bus.publish(topic, sent.slice(30));
        const c = await consume({ topic, groupId: uniqueName('g') });
        await until(() => c.received.length >= sent.length, 'all 60 messages');
        await c.sub.close();

        expect(c.received).toHaveLength(sent.length);
        expect(new Set(ids(c.received)).size).toBe(sent.length);
        const got = c.received.map((m) => ({ key: m.key, value: m.value, headers: m.headers })).sort(byN);
        expect(got).toEqual(sent.map((m) => ({ key: m.key, value: m.value, headers: m.headers })));
        for (const m of c.received) {
          expect(m.topic).toBe(topic);
          expect(Number.isSafeInteger(Number(m.offset))).toBe(true);
          expect(m.timestamp).toBeGreaterThan(0);
        }
      },
      testTimeout,
    );

    it(
      'sends one key to one partition (the murmur2 partition) and keeps its order',
      async () => {
        const topic = uniqueName('bus_order');
        const keys = ['tenant-a|203.0.113.7', 'tenant-a|198.51.100.1', 'tenant-b|2001:db8::1'];
        for (let seq = 0; seq < 20; seq++) {
          await bus.publish(topic, keys.map((key) => ({ key, value: `${key}#${seq}` })));
        }
        const c = await consume({ topic, groupId: uniqueName('g'), maxBatchSize: 7 });
        await until(() => c.received.length >= keys.length * 20, 'all 60 messages');
        await c.sub.close();

        for (const key of keys) {
          const mine = c.received.filter((m) => m.key === key);
          expect(values(mine)).toEqual(Array.from({ length: 20 }, (_, seq) => `${key}#${seq}`));
          expect(new Set(mine.map((m) => m.partition))).toEqual(new Set([partitionForKey(key, opts.partitions)]));
          const offsets = mine.map((m) => BigInt(m.offset));
          expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!)).toBe(true);
        }
        for (const batch of c.batches) {
          expect(batch.length).toBeLessThanOrEqual(7);
          expect(new Set(batch.map((m) => m.partition)).size).toBe(1);
        }
      },
      testTimeout,
    );

    it(
      'redelivers the same batch after the handler throws, until it succeeds',
      async () => {
        const topic = uniqueName('bus_retry');
        await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'one-key', value: `m${i}` })));
        let failuresLeft = 2;
        const c = await consume({ topic, groupId: uniqueName('g'), retryDelayMs: 50 }, async () => {
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('downstream unavailable');
          }
        });
        await until(() => c.received.length >= 5, 'the batch to succeed');
        await c.sub.close();

        expect(c.batches.length).toBeGreaterThanOrEqual(3);
        const firstOffsets = c.batches.slice(0, 3).map((b) => b[0]!.offset);
        expect(new Set(firstOffsets).size).toBe(1);
        expect(values(c.batches[0]!)).toEqual(values(c.batches[2]!).slice(0, c.batches[0]!.length));
        expect(values(c.received)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      },
      testTimeout,
    );

    it(
      'commits only after success: a new member of the group resumes at the first message not yet handled',
      async () => {
        const topic = uniqueName('bus_commit');
        const groupId = uniqueName('g');
        await bus.publish(topic, Array.from({ length: 10 }, (_, i) => ({ key: 'one-key', value: `a${i}` })));
        const failing = await consume({ topic, groupId, retryDelayMs: 50 }, async (batch) => {
          if (batch.some((m) => m.value.startsWith('b'))) throw new Error('poison');
        });
        await until(() => failing.received.length >= 10, 'the a-messages');
        await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'one-key', value: `b${i}` })));
        const failedAttempts = () => failing.batches.filter((b) => b.some((m) => m.value.startsWith('b')));
        await until(() => failedAttempts().length >= 2, 'two failed attempts on the b-messages');
        await failing.sub.close();

        // Each failed attempt started at the first unhandled message.
        for (const attempt of failedAttempts()) expect(attempt[0]!.value).toBe('b0');
        expect(values(failing.received)).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));

        await bus.publish(topic, [{ key: 'one-key', value: 'c0' }]);
        const next = await consume({ topic, groupId });
        await until(() => next.received.some((m) => m.value === 'c0'), 'the message published after close');
        await next.sub.close();
        // Nothing lost (b redelivered), nothing skipped, nothing already committed delivered again.
        expect(values(next.received)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'c0']);
      },
      testTimeout,
    );

    it(
      'gives every message to each of two groups',
      async () => {
        const topic = uniqueName('bus_groups');
        const sent = Array.from({ length: 40 }, (_, i) => ({ key: `ip-${i % 8}`, value: `v${i}` }));
        await bus.publish(topic, sent);
        const [g1, g2] = await Promise.all([consume({ topic, groupId: uniqueName('g1') }), consume({ topic, groupId: uniqueName('g2') })]);
        await until(() => g1.received.length >= 40 && g2.received.length >= 40, 'both groups to get 40 messages');
        await Promise.all([g1.sub.close(), g2.sub.close()]);

        const expected = sent.map((m) => m.value).sort();
        expect(values(g1.received).sort()).toEqual(expected);
        expect(values(g2.received).sort()).toEqual(expected);
      },
      testTimeout,
    );

    it(
      'splits the partitions between two members of one group and gives no message to both',
      async () => {
        const topic = uniqueName('bus_split');
        const groupId = uniqueName('g');
        const all = Array.from({ length: opts.partitions }, (_, p) => p);
        const a = await consume({ topic, groupId });
        await until(() => a.assigned.size === opts.partitions, 'the first member to own every partition');
        const b = await consume({ topic, groupId });
        const settled = () =>
          a.assigned.size > 0 &&
          b.assigned.size > 0 &&
          [...a.assigned].every((p) => !b.assigned.has(p)) &&
          [...a.assigned, ...b.assigned].sort((x, y) => x - y).join() === all.join();
        await until(settled, 'the group to settle with both members');

        const keys = keysCoveringPartitions(opts.partitions, 3);
        const sent = keys.flatMap((key) => Array.from({ length: 5 }, (_, i) => ({ key, value: `${key}:${i}` })));
        await bus.publish(topic, sent);
        await until(() => a.received.length + b.received.length >= sent.length, 'all messages across the two members');
        const ownedByA = new Set(a.assigned);
        const ownedByB = new Set(b.assigned);
        await Promise.all([a.sub.close(), b.sub.close()]);

        const inA = new Set(values(a.received));
        expect(values(b.received).filter((v) => inA.has(v))).toEqual([]);
        expect([...values(a.received), ...values(b.received)].sort()).toEqual(sent.map((m) => m.value).sort());
        expect(a.received.length).toBeGreaterThan(0);
        expect(b.received.length).toBeGreaterThan(0);
        for (const m of a.received) expect(ownedByA.has(m.partition)).toBe(true);
        for (const m of b.received) expect(ownedByB.has(m.partition)).toBe(true);
      },
      testTimeout,
    );

    it(
      'close() waits for the in-flight batch, commits it, and the next member does not get it again',
      async () => {
        const topic = uniqueName('bus_drain');
        const groupId = uniqueName('g');
        await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'one-key', value: `slow${i}` })));
        let started = false;
        let finished = false;
        const slow = await consume({ topic, groupId }, async (_batch, ctx) => {
          started = true;
          // Still working when close() begins: only finish once the subscription reports it is closing.
          await waitFor(() => !ctx.isRunning(), { what: 'close() to begin', timeoutMs: waitTimeoutMs, intervalMs: 10 });
          finished = true;
        });
        await until(() => started, 'the slow batch to start');
        await slow.sub.close();
        const finishedWhenClosed = finished;

        expect(finishedWhenClosed).toBe(true);
        expect(values(slow.received)).toEqual(['slow0', 'slow1', 'slow2', 'slow3', 'slow4']);

        await bus.publish(topic, [{ key: 'one-key', value: 'after' }]);
        const next = await consume({ topic, groupId });
        await until(() => next.received.length >= 1, 'the message published after close');
        await next.sub.close();
        expect(values(next.received)).toEqual(['after']);
      },
      testTimeout,
    );

    it(
      'finishes onAssigned for a partition before delivering any of its messages',
      async () => {
        const topic = uniqueName('bus_assign');
        const keys = keysCoveringPartitions(opts.partitions, 1);
        await bus.publish(topic, keys.map((key) => ({ key, value: key })));
        const restored = new Set<number>();
        const deliveredBeforeRestore: number[] = [];
        const received: InboundMessage[] = [];
        const sub = await bus.subscribe(
          {
            ...extra,
            topic,
            groupId: uniqueName('g'),
            onAssigned: async (partitions) => {
              // Simulated state restore: slower than a fetch, so an adapter that does not wait for it fails here.
              await new Promise((r) => setTimeout(r, 300));
              partitions.forEach((p) => restored.add(p));
            },
          },
          async (batch, ctx) => {
            if (!restored.has(ctx.partition)) deliveredBeforeRestore.push(ctx.partition);
            received.push(...batch);
          },
        );
        open.push(sub);
        await until(() => received.length >= keys.length, 'a message from every partition');
        await sub.close();

        expect(deliveredBeforeRestore).toEqual([]);
        expect([...restored].sort((x, y) => x - y)).toEqual(Array.from({ length: opts.partitions }, (_, p) => p));
      },
      testTimeout,
    );

    it(
      'starts a partition at the offset onAssigned returns, even behind the committed offset (state restored from a checkpoint)',
      async () => {
        const topic = uniqueName('bus_seek');
        const groupId = uniqueName('g');
        const [key] = keysCoveringPartitions(opts.partitions, 1);
        const partition = partitionForKey(key!, opts.partitions);
        await bus.publish(topic, [0, 1, 2, 3, 4].map((n) => ({ key: key!, value: JSON.stringify({ n }) })));
        const first = await consume({ topic, groupId });
        await until(() => first.received.length >= 5, 'the first five messages');
        await first.sub.close(); // commits past all five

        const received: InboundMessage[] = [];
        const sub = await bus.subscribe(
          { ...extra, topic, groupId, onAssigned: (ps) => (ps.includes(partition) ? { [partition]: '2' } : undefined) },
          async (batch) => {
            received.push(...batch);
          },
        );
        open.push(sub);
        await bus.publish(topic, [{ key: key!, value: JSON.stringify({ n: 5 }) }]);
        await until(() => received.some((m) => m.value === JSON.stringify({ n: 5 })), 'the message published after the restart');
        await sub.close();

        // Kafka retains consumed messages; the in-process bus drops what every group has committed, so there the
        // partition starts at the earliest entry it still holds.
        const from = bus.kind === 'kafka' ? 2 : 5;
        const expected = [2, 3, 4, 5].filter((n) => n >= from);
        expect(received.map((m) => (JSON.parse(m.value) as { n: number }).n)).toEqual(expected);
        expect(received.map((m) => m.offset)).toEqual(expected.map(String));
      },
      testTimeout,
    );

    it(
      'round-trips unicode keys, headers and 100 KB values',
      async () => {
        const topic = uniqueName('bus_unicode');
        const unit = 'Zürich → 東京 🚀 ключ ';
        const big = unit.repeat(Math.ceil(100_000 / Buffer.byteLength(unit)));
        expect(Buffer.byteLength(big)).toBeGreaterThanOrEqual(100_000);
        const sent: OutboundMessage[] = [
          { key: 'клиент-🔑', value: big, headers: { 'x-note': 'naïve café ☕' } },
          { key: '鍵', value: '{"emoji":"😀","rtl":"שלום"}', headers: {} },
          { key: null, value: '', headers: { empty: '' } },
        ];
        await bus.publish(topic, sent);
        const c = await consume({ topic, groupId: uniqueName('g') });
        await until(() => c.received.length >= sent.length, 'the three messages');
        await c.sub.close();

        const byKey = new Map(c.received.map((m) => [m.key, m]));
        for (const s of sent) {
          const got = byKey.get(s.key);
          expect(got?.value).toBe(s.value);
          expect(got?.headers).toEqual(s.headers);
        }
      },
      testTimeout,
    );
  });
}

/** Sorts delivered messages back into publish order by the `n` in their JSON value. */
function byN(x: { value: string }, y: { value: string }): number {
  return (JSON.parse(x.value) as { n: number }).n - (JSON.parse(y.value) as { n: number }).n;
}

/** `perPartition` distinct keys for each partition, found with the shared partitioner. */
function keysCoveringPartitions(partitions: number, perPartition: number): string[] {
  const found = new Map<number, string[]>();
  for (let i = 0; [...found.values()].reduce((n, ks) => n + ks.length, 0) < partitions * perPartition; i++) {
    const key = `client-${i}`;
    const p = partitionForKey(key, partitions);
    const ks = found.get(p) ?? [];
    if (ks.length < perPartition) found.set(p, [...ks, key]);
  }
  return [...found.values()].flat();
}
