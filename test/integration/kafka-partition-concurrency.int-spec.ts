import { jest } from '@jest/globals';
import { KafkaEventBus, type InboundMessage, type KafkaSubscribeOptions } from '@vigil/platform';
import { testEndpoints, uniqueName, waitFor } from '@vigil/testing';

/**
 * KafkaSubscribeOptions.partitionConcurrency (used by ingest's raw-log consumer): several partitions' batches are
 * handled at once, while each partition's own batches keep their order, every message arrives once and the group's
 * committed offsets reach the end (a new member of the group gets nothing again).
 */
jest.setTimeout(120_000);

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const PER_KEY = 40;

describe(`${KafkaEventBus.name} partitionConcurrency`, () => {
  const { kafkaBrokers } = testEndpoints();
  let bus: KafkaEventBus;

  beforeEach(() => {
    bus = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('vigil-test'), logger: quiet });
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

    // Everything was committed: a later member of the same group starts at the end and gets only what comes next.
    const later: InboundMessage[] = [];
    const again = await bus.subscribe({ ...options }, async (batch) => {
      later.push(...batch);
    });
    await bus.publish(topic, [{ key: 'a', value: 'after' }]);
    await waitFor(() => later.length >= 1, { what: 'the message published after the first member left', timeoutMs: 60_000 });
    await again.close();
    expect(later.map((m) => m.value)).toEqual(['after']);
  });
});
