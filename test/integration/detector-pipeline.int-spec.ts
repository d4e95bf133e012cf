import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessEvent, accessEventKey, Anomaly, anomalyKey } from '@vigil/contracts';
import { AccessEventsConsumer } from '@vigil/detector/consumers/access-events.consumer';
import { RekeyedConsumer } from '@vigil/detector/consumers/rekeyed.consumer';
import { DEFAULT_DETECTORS_CONFIG } from '@vigil/detector/detectors/detector-config';
import { DetectAnomalies } from '@vigil/detector/usecases/detect-anomalies/detect-anomalies.usecase';
import { KafkaEventBus, type InboundMessage, type Subscription, type VigilConfig } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anAccessEvent, testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { pino } from 'pino';

/**
 * The detector against the real Kafka-protocol broker and ClickHouse: access events in, anomalies stored and
 * published, state checkpointed on revoke and restored by the next instance of the same consumer group.
 */
const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);
const USERS = 8;
const ATTACKER = '198.51.100.66';
const TENANT = 'acme';

const env = testEndpoints();
const logger = pino({ level: process.env.DETECTOR_IT_LOG_LEVEL ?? 'silent' });

function normal(minute: number): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let i = 0; i < 6; i++) {
      out.push(
        anAccessEvent({
          tenant: TENANT,
          ts: T0 + minute * W + u * 1_000 + i * 7_000,
          clientIp: `203.0.113.${u + 1}`,
          tokenId: `tk_user_${u}`,
          path: `/v1/orders/${(u * 7 + i) % 40}`,
          status: 200,
        }),
      );
    }
  }
  return out;
}

/** The attacker's partition must see later traffic too, or its watermark would never close the attack window. */
function attackerQuiet(minute: number): AccessEvent[] {
  return [0, 1, 2].map((i) => anAccessEvent({ tenant: TENANT, ts: T0 + minute * W + 5_000 + i * 10_000, clientIp: ATTACKER, tokenId: '', status: 200, path: '/v1/products/1', route: '/v1/products/:id' }));
}

function bruteForce(minute: number): AccessEvent[] {
  return Array.from({ length: 150 }, (_, i) =>
    anAccessEvent({ tenant: TENANT, ts: T0 + minute * W + 2_000 + i * 300, clientIp: ATTACKER, tokenId: '', method: 'POST', path: '/v1/login', route: '/v1/login', status: 401 }),
  );
}

interface Pipeline {
  bus: KafkaEventBus;
  store: ClickHouseStore;
  topics: { access: string; rekey: string; anomalies: string };
  groupPrefix: string;
}

interface Instance {
  detect: DetectAnomalies;
  close(): Promise<void>;
}

async function startDetector(p: Pipeline): Promise<Instance> {
  const settings: VigilConfig['detector'] = {
    configPath: 'config/detectors.yaml',
    windowMs: W,
    latenessMs: 5_000,
    maxEntities: 100_000,
    idleTtlMs: 7 * 86_400_000,
    checkpointIntervalMs: 3_600_000,
    checkpointEveryEvents: 1_000_000,
    accessEventsTopic: p.topics.access,
    rekeyTopic: p.topics.rekey,
    anomaliesTopic: p.topics.anomalies,
  };
  const detect = new DetectAnomalies({
    bus: p.bus,
    store: p.store,
    settings,
    detectors: DEFAULT_DETECTORS_CONFIG,
    groupPrefix: p.groupPrefix,
    logger,
    durableOffsets: true,
  });
  const consumers = [new AccessEventsConsumer(p.bus, logger, detect), new RekeyedConsumer(p.bus, logger, detect)];
  await Promise.all(consumers.map((c) => c.onApplicationBootstrap()));
  return { detect, close: async () => void (await Promise.all(consumers.map((c) => c.onModuleDestroy()))) };
}

async function publish(p: Pipeline, events: AccessEvent[]): Promise<void> {
  await p.bus.publish(
    p.topics.access,
    events.map((e) => ({ key: accessEventKey(e), value: JSON.stringify(e) })),
  );
}

/** Everything published on the anomalies topic, read by a group of its own. */
async function watchAnomalies(p: Pipeline): Promise<{ messages: InboundMessage[]; sub: Subscription }> {
  const messages: InboundMessage[] = [];
  const sub = await p.bus.subscribe({ topic: p.topics.anomalies, groupId: uniqueName('anomaly_watch') }, async (batch) => {
    messages.push(...batch);
  });
  return { messages, sub };
}

async function makePipeline(): Promise<Pipeline> {
  const database = uniqueName('vigil_detector');
  const store = new ClickHouseStore({ url: env.clickhouseUrl, user: 'default', password: '', database });
  await store.migrate();
  const bus = new KafkaEventBus({ brokers: env.kafkaBrokers, clientId: uniqueName('detector_it') });
  return {
    bus,
    store,
    topics: { access: uniqueName('it_access'), rekey: uniqueName('it_rekey'), anomalies: uniqueName('it_anomalies') },
    groupPrefix: uniqueName('it_detector'),
  };
}

async function closePipeline(p: Pipeline): Promise<void> {
  await p.bus.close();
  await p.store.close();
}

const parse = (m: InboundMessage): Anomaly => Anomaly.parse(JSON.parse(m.value));

describe('detector pipeline (Kafka + ClickHouse)', () => {
  const pipelines: Pipeline[] = [];
  beforeAll(() => undefined);
  afterAll(async () => {
    await Promise.all(pipelines.map(closePipeline));
  });

  it('turns normal traffic then a brute-force burst from one IP into exactly one brute-force anomaly, stored and published', async () => {
    const p = await makePipeline();
    pipelines.push(p);
    const watch = await watchAnomalies(p);
    const detector = await startDetector(p);
    for (let m = 0; m < 12; m++) await publish(p, normal(m));
    await publish(p, [...normal(12), ...bruteForce(12)].sort((a, b) => a.ts - b.ts));
    for (let m = 13; m < 15; m++) await publish(p, [...normal(m), ...attackerQuiet(m)]);

    const stored = await waitFor(
      async () => {
        const list = await p.store.anomalies.list({ tenant: TENANT, detector: 'brute-force' });
        return list.length > 0 ? list : null;
      },
      { timeoutMs: 60_000, what: 'a stored brute-force anomaly' },
    );
    // the attack window closes once minute 14 arrives: by then a second (non-early) firing would have happened
    await waitFor(() => detector.detect.inspect(TENANT, 'ip', ATTACKER, 'requests', T0 + 15 * W)?.windows === 2, { timeoutMs: 60_000, what: 'the attack window closed' });
    const published = await waitFor(() => watch.messages.filter((m) => parse(m).detector === 'brute-force').length > 0 && watch.messages, { timeoutMs: 30_000, what: 'the published anomaly' });

    const again = await p.store.anomalies.list({ tenant: TENANT, detector: 'brute-force' });
    expect(again).toHaveLength(1);
    const a = again[0]!;
    expect(stored[0]!.id).toBe(a.id);
    expect([a.entityType, a.entity, a.windowStart]).toEqual(['ip', ATTACKER, T0 + 12 * W]);
    expect(a.contributors.ips[0]).toEqual({ value: ATTACKER, count: a.observed });
    expect(a.contributors.statuses[0]?.value).toBe('401');
    expect(a.contributors.paths[0]?.value).toBe('/v1/login');
    expect(a.sampleEventIds.length).toBeGreaterThan(0);
    expect(a.explanation).toMatch(new RegExp(`^IP ${ATTACKER.replace(/\./g, '\\.')} got \\d+ 401/403 responses out of \\d+ requests \\(100%\\) in 1 min, mostly on /v1/login; expected`));

    const bf = published.filter((m) => parse(m).detector === 'brute-force');
    expect(bf).toHaveLength(1);
    expect(bf[0]!.key).toBe(anomalyKey(a));
    expect(parse(bf[0]!)).toEqual(a);
    // normal users stayed quiet
    expect(published.map(parse).filter((x) => x.entity.startsWith('203.0.113.'))).toEqual([]);

    await watch.sub.close();
    await detector.close();
  }, 180_000);

  it('a restart mid-stream keeps the learned baselines and emits no anomaly twice', async () => {
    const p = await makePipeline();
    pipelines.push(p);
    const watch = await watchAnomalies(p);
    const first = await startDetector(p);
    for (let m = 0; m < 12; m++) await publish(p, normal(m));
    // the burst fires early in first's window 12; the window is still open when first stops
    await publish(p, [...normal(12), ...bruteForce(12)].sort((a, b) => a.ts - b.ts));
    await waitFor(() => watch.messages.some((m) => parse(m).detector === 'brute-force'), { timeoutMs: 60_000, what: 'the early brute-force anomaly' });
    const next = T0 + 13 * W;
    await waitFor(() => first.detect.inspect(TENANT, 'ip', '203.0.113.1', 'requests', next)?.windows === 12, { timeoutMs: 60_000, what: 'twelve IP windows learned' });
    await waitFor(() => first.detect.inspect(TENANT, 'token', 'tk_user_1', 'requests', next)?.windows === 12, { timeoutMs: 60_000, what: 'twelve token windows learned' });
    const learnedIp = first.detect.inspect(TENANT, 'ip', '203.0.113.1', 'requests', next, 20)!;
    const learnedToken = first.detect.inspect(TENANT, 'token', 'tk_user_1', 'requests', next, 20)!;
    expect(learnedIp.expected).toBeGreaterThan(4);

    await first.close(); // revoke → checkpoint of every partition
    const second = await startDetector(p);
    await waitFor(() => second.detect.partitions('access').length === 4 && second.detect.partitions('rekeyed').length === 4, { timeoutMs: 90_000, what: 'the second instance to own every partition' });
    await waitFor(() => second.detect.inspect(TENANT, 'ip', '203.0.113.1', 'requests', next, 20), { timeoutMs: 30_000, what: 'the restored IP baseline' });
    expect(second.detect.counters.restored).toBeGreaterThan(0);
    expect(second.detect.inspect(TENANT, 'ip', '203.0.113.1', 'requests', next, 20)).toEqual(learnedIp);
    expect(second.detect.inspect(TENANT, 'token', 'tk_user_1', 'requests', next, 20)).toEqual(learnedToken);

    // the rest of the stream: window 12 (replayed from its first offset by the second instance) closes
    for (let m = 13; m < 15; m++) await publish(p, [...normal(m), ...attackerQuiet(m)]);
    await waitFor(() => second.detect.inspect(TENANT, 'ip', '203.0.113.1', 'requests', next)?.windows === 14, { timeoutMs: 60_000, what: 'windows 12 and 13 closed on the second instance' });
    await waitFor(() => second.detect.inspect(TENANT, 'ip', ATTACKER, 'requests', next)?.windows === 2, { timeoutMs: 60_000, what: 'the attack window closed on the second instance' });

    // the second instance rebuilt the open window 12 by replaying it (burst included) from the checkpoint's offset,
    // on top of the 2 × 51 events published after the restart
    const expectedEvents = 150 + USERS * 6 + 2 * (USERS * 6 + 3);
    await waitFor(() => second.detect.counters.events >= expectedEvents, { timeoutMs: 60_000, what: `${expectedEvents} events handled by the second instance` });
    expect(second.detect.counters.events).toBe(expectedEvents);
    const ids = watch.messages.map((m) => parse(m).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(watch.messages.map(parse).filter((a) => a.detector === 'brute-force').map((a) => a.entity)).toEqual([ATTACKER]);
    expect(await p.store.anomalies.list({ tenant: TENANT, detector: 'brute-force' })).toHaveLength(1);

    await watch.sub.close();
    await second.close();
  }, 300_000);
});
