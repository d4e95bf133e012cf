import { jest } from '@jest/globals';
import { KafkaEventBus, partitionForKey, type InboundMessage, type KafkaSubscribeOptions } from '@vigil/platform';
import { uniqueName, waitFor } from '@vigil/testing';
import { testKafkaBus } from '../fixtures/kafka-bus.js';

/**
 * KafkaSubscribeOptions.partitionConcurrency (used by ingest's raw-log consumer): several partitions' batches are
 * handled at once, while each partition's own batches keep their order, every message arrives once and the group's
 * committed offsets reach the end (a new member of the group gets nothing again).
 */
jest.setTimeout(120_000);

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const PER_KEY = 40;

describe(`${KafkaEventBus.name} partitionConcurrency`, () => {
  let bus: KafkaEventBus;

  beforeEach(() => {
    bus = testKafkaBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  it('handles several partitions at once, each partition in order, every message once, offsets committed', async () => {
    const topic = uniqueName('bus_concurrency');
    const groupId = uniqueName('g_concurrency');
    await bus.publish(
      topic,
      Array.from({ length: PER_KEY }, (_, i) => KEYS.map((key) => ({ key, value: `${key}:${i}` }))).flat(),
    );

    const seen: InboundMessage[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let overlapSeen: () => void = () => undefined;
    const overlap = new Promise<void>((resolve) => (overlapSeen = resolve));
    const options: KafkaSubscribeOptions = { topic, groupId, maxBatchSize: 10, partitionConcurrency: 4 };
    const sub = await bus.subscribe(options, async (batch) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (inFlight >= 2) overlapSeen();
      // Hold each batch until a second one is in flight (or a while has passed, so a one-at-a-time consumer still ends).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([overlap, new Promise((r) => (timer = setTimeout(r, 3_000)))]);
      clearTimeout(timer);
      seen.push(...batch);
      inFlight -= 1;
    });
    await waitFor(() => seen.length === KEYS.length * PER_KEY, { what: `${KEYS.length * PER_KEY} messages (have ${seen.length})`, timeoutMs: 90_000 });
    await sub.close();

    expect(maxInFlight).toBeGreaterThanOrEqual(2);
    expect(new Set(seen.map((m) => `${m.partition}@${m.offset}`)).size).toBe(seen.length);
    for (const key of KEYS) {
      expect(seen.filter((m) => m.key === key).map((m) => m.value)).toEqual(Array.from({ length: PER_KEY }, (_, i) => `${key}:${i}`));
    }
    expect(new Set(seen.map((m) => m.partition)).size).toBeGreaterThanOrEqual(2);

    await expectCommittedToTheEnd(bus, options);
  });

  it('mergePartitions: a fetch\'s partitions in one call, each partition in order, every message once, offsets committed', async () => {
    const topic = uniqueName('bus_merge');
    const groupId = uniqueName('g_merge');
    await bus.publish(
      topic,
      Array.from({ length: PER_KEY }, (_, i) => KEYS.map((key) => ({ key, value: `${key}:${i}` }))).flat(),
    );

    const calls: InboundMessage[][] = [];
    const options: KafkaSubscribeOptions = { topic, groupId, maxBatchSize: 25, mergePartitions: true };
    const sub = await bus.subscribe(options, async (batch) => {
      calls.push(batch);
    });
    const seen = () => calls.flat();
    await waitFor(() => seen().length === KEYS.length * PER_KEY, { what: `${KEYS.length * PER_KEY} messages (have ${seen().length})`, timeoutMs: 90_000 });
    await sub.close();

    expect(Math.max(...calls.map((c) => new Set(c.map((m) => m.partition)).size))).toBeGreaterThanOrEqual(2);
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(25);
    expect(new Set(seen().map((m) => `${m.partition}@${m.offset}`)).size).toBe(seen().length);
    for (const key of KEYS) {
      expect(seen().filter((m) => m.key === key).map((m) => m.value)).toEqual(Array.from({ length: PER_KEY }, (_, i) => `${key}:${i}`));
    }

    await expectCommittedToTheEnd(bus, options);
  });

  it('mergePartitions: a failed call is redelivered for every partition in it, and nothing is skipped', async () => {
    const topic = uniqueName('bus_merge_fail');
    const groupId = uniqueName('g_merge_fail');
    await bus.publish(
      topic,
      Array.from({ length: 10 }, (_, i) => KEYS.map((key) => ({ key, value: `${key}:${i}` }))).flat(),
    );

    const handled: InboundMessage[] = [];
    let failed: InboundMessage[] | null = null;
    const options: KafkaSubscribeOptions = { topic, groupId, maxBatchSize: 500, mergePartitions: true, retryDelayMs: 50 };
    const sub = await bus.subscribe(options, async (batch) => {
      if (failed === null && new Set(batch.map((m) => m.partition)).size >= 2) {
        failed = batch;
        throw new Error('store unavailable');
      }
      handled.push(...batch);
    });
    await waitFor(() => handled.length >= KEYS.length * 10, { what: `${KEYS.length * 10} messages handled (have ${handled.length})`, timeoutMs: 90_000 });
    await sub.close();

    expect(failed).not.toBeNull();
    // every message of the failed call came again, and every key's messages were handled once each, in order
    const again = new Set(handled.map((m) => `${m.partition}@${m.offset}`));
    for (const m of failed! as InboundMessage[]) expect(again.has(`${m.partition}@${m.offset}`)).toBe(true);
    expect(again.size).toBe(handled.length);
    for (const key of KEYS) {
      expect(handled.filter((m) => m.key === key).map((m) => m.value)).toEqual(Array.from({ length: 10 }, (_, i) => `${key}:${i}`));
    }
  });

  it('pipelined: fetching goes on while a handler holds a batch, so a message published meanwhile is handled first', async () => {
    const topic = uniqueName('bus_pipelined');
    const groupId = uniqueName('g_pipelined');
    const [held, other] = twoKeysOnDifferentPartitions();
    await bus.publish(topic, [{ key: held, value: 'held' }]);

    const order: string[] = [];
    let releaseHeld: () => void = () => undefined;
    const otherHandled = new Promise<void>((resolve) => (releaseHeld = resolve));
    let holding = false;
    const options: KafkaSubscribeOptions = { topic, groupId, pipelined: true, partitionConcurrency: 2 };
    const sub = await bus.subscribe(options, async (batch) => {
      for (const m of batch) {
        if (m.value === 'held') {
          holding = true;
          // Without pipelining kafkajs fetches nothing while this batch is in the handler: the wait would time out.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([otherHandled, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
          clearTimeout(timer);
        }
        order.push(m.value);
        if (m.value === 'other') releaseHeld();
      }
    });
    await waitFor(() => holding, { what: 'the first batch in the handler', timeoutMs: 60_000 });
    await bus.publish(topic, [{ key: other, value: 'other' }]);
    await waitFor(() => order.length === 2, { what: 'both messages handled', timeoutMs: 60_000 });
    await sub.close();
    expect(order).toEqual(['other', 'held']);
  });

  it('pipelined: a failed batch drops the partition\'s queued batches and starts again from it, in order, each message handled once', async () => {
    const topic = uniqueName('bus_pipelined_fail');
    const groupId = uniqueName('g_pipelined_fail');
    await bus.publish(
      topic,
      Array.from({ length: PER_KEY }, (_, i) => KEYS.map((key) => ({ key, value: `${key}:${i}` }))).flat(),
    );

    const handled: InboundMessage[] = [];
    const failOn = `${KEYS[0]}:7`;
    let failures = 0;
    const options: KafkaSubscribeOptions = { topic, groupId, maxBatchSize: 3, pipelined: true, partitionConcurrency: 2, retryDelayMs: 50 };
    const sub = await bus.subscribe(options, async (batch) => {
      await new Promise((r) => setTimeout(r, 5));
      if (failures < 2 && batch.some((m) => m.value === failOn)) {
        failures += 1;
        throw new Error('store unavailable');
      }
      handled.push(...batch);
    });
    await waitFor(() => handled.length >= KEYS.length * PER_KEY, { what: `${KEYS.length * PER_KEY} messages (have ${handled.length})`, timeoutMs: 90_000 });
    await sub.close();

    expect(failures).toBe(2);
    expect(new Set(handled.map((m) => `${m.partition}@${m.offset}`)).size).toBe(handled.length);
    for (const key of KEYS) {
      expect(handled.filter((m) => m.key === key).map((m) => m.value)).toEqual(Array.from({ length: PER_KEY }, (_, i) => `${key}:${i}`));
    }

    await expectCommittedToTheEnd(bus, options);
  });
});

/** Two keys the murmur2 partitioner puts on different partitions of a 4-partition topic. */
function twoKeysOnDifferentPartitions(): [string, string] {
  const first = 'k0';
  for (let i = 1; ; i++) if (partitionForKey(`k${i}`, 4) !== partitionForKey(first, 4)) return [first, `k${i}`];
}

/**
 * Everything was committed: a later member of the same group starts at the end and gets only what is published after
 * the first member left.
 */
async function expectCommittedToTheEnd(bus: KafkaEventBus, options: KafkaSubscribeOptions): Promise<void> {
  const later: InboundMessage[] = [];
  const again = await bus.subscribe({ ...options }, async (batch) => {
    later.push(...batch);
  });
  await bus.publish(options.topic, [{ key: 'a', value: 'after' }]);
  await waitFor(() => later.length >= 1, { what: 'the message published after the first member left', timeoutMs: 60_000 });
  await again.close();
  expect(later.map((m) => m.value)).toEqual(['after']);
}
