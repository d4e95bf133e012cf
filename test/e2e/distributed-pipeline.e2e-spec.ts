import { jest } from '@jest/globals';
import type { Incident } from '@vigil/contracts';
import { waitFor } from '@vigil/testing';
import {
  attackScenario,
  cleanReport,
  Cluster,
  DETECTOR_LATENESS_MS,
  exactlyOnceReport,
  falseIncidents,
  expectedDetectorReport,
  observe,
  openedIds,
  REPLAY_CHUNK_MS,
  replayRecords,
  waitForAttackIncidents,
  waitForNoLag,
  type Observers,
  type Scenario,
} from './helpers/cluster.js';
import { verifyStandardWebhook } from '../fixtures/webhook-receiver.js';

/**
 * Distributed mode end to end: two ingest, two detector and two alert instances (separate processes, each service in
 * its consumer group) on the real Kafka-protocol broker, ClickHouse and Redis. An hour of generated Kong traffic with
 * five labelled attacks (brute force, scanning, injection, a flood, token theft) is replayed through the raw-log
 * topic. Every attack must become exactly one incident, seen once by a socket.io client on each alert instance and
 * delivered once to each of two webhook receivers.
 */
jest.setTimeout(600_000);

describe('distributed mode: 2 ingest × 2 detector × 2 alert instances', () => {
  let cluster: Cluster;
  let obs: Observers;
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = attackScenario();
    cluster = await Cluster.start({ label: 'dist', env: { VIGIL_DETECTOR_LATENESS_MS: String(DETECTOR_LATENESS_MS), VIGIL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    obs = await observe(cluster);
    // the first chunks wait for the consumer groups to settle (on a loaded machine the mock's group joins can take minutes)
    await replayRecords(cluster, scenario.records(), { chunkMs: REPLAY_CHUNK_MS, gateTimeoutMs: 180_000, paceOnConsumers: true });
    await waitForAttackIncidents(obs, scenario.labels);
    await waitForNoLag(cluster);
    // Collateral incidents (the endpoint a brute force hammers, ...) reach the receivers a little after the sockets.
    await waitFor(() => exactlyOnceReport(obs, scenario).sameIncidentsEverywhere, { timeoutMs: 60_000, what: 'every observer to see the same incidents' });
  });

  afterAll(async () => {
    await obs?.close();
    if (cluster) {
      const errors = cluster.errors();
      if (errors.length) process.stderr.write(`service errors: ${JSON.stringify(errors.slice(0, 20), null, 1)}\n`);
      await cluster.dumpMetrics(`artifacts/e2e-logs/${cluster.prefix}`);
      cluster.dumpLogs(`artifacts/e2e-logs/${cluster.prefix}`);
      await cluster.stop();
    }
  });

  it('stores every replayed record exactly once', async () => {
    const n = [...scenario.records()].length;
    expect(await cluster.eventCounts()).toEqual({ rows: n, ids: n, final: n });
  });

  it('turns every attack into exactly one incident, opened once on each socket client and delivered once to each webhook', () => {
    expect(exactlyOnceReport(obs, scenario)).toEqual(cleanReport(scenario));
  });

  it('opens no incident on an IP, token or endpoint that no attack touched', () => {
    expect(falseIncidents(obs, scenario)).toEqual([]);
  });

  it('names the expected detector among the anomalies of each attack\'s incident', async () => {
    expect(await expectedDetectorReport(cluster, obs, scenario.labels)).toEqual(scenario.labels.map((l) => [l.class, true]));
  });

  it('signs every webhook so the receiver verifies it', () => {
    for (const [i, r] of obs.receivers.entries()) {
      expect(r.arrivals.length).toBeGreaterThan(0);
      expect(r.arrivals.filter((w) => !verifyStandardWebhook(obs.secrets[i]!, w)).map((w) => w.id)).toEqual([]);
    }
  });

  it('spreads the work: both instances of each service held partitions and processed records', () => {
    const worked = (app: 'ingest' | 'detector' | 'alert') =>
      cluster.instances(app).map((p) => p.logs().some((l) => l.msg === 'kafka partitions assigned' && Array.isArray(l.partitions) && (l.partitions as number[]).length > 0));
    expect({ ingest: worked('ingest'), detector: worked('detector'), alert: worked('alert') }).toEqual({ ingest: [true, true], detector: [true, true], alert: [true, true] });
  });

  it('lists the same incidents over REST, once each', async () => {
    const res = await fetch(`${cluster.instance('alert', 1).url}/v1/incidents?limit=200`, { headers: { authorization: `Bearer ${cluster.tokens.reader}` } });
    expect(res.status).toBe(200);
    const ids = ((await res.json()) as { items: Incident[] }).items.map((i) => i.id);
    expect(ids.sort()).toEqual([...new Set(openedIds(obs).sockets[0])].sort());
  });
});
