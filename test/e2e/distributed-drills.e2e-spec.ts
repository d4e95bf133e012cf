import { jest } from '@jest/globals';
import { testEndpoints, waitFor } from '@vigil/testing';
import { TcpProxy } from '../fixtures/tcp-proxy.js';
import {
  attackScenario,
  cleanReport,
  Cluster,
  exactlyOnceReport,
  incidentDetectors,
  observe,
  replayRecords,
  waitForAttackIncidents,
  waitForNoLag,
  type Observers,
  type Scenario,
} from './helpers/cluster.js';

/**
 * Fault drills on the 2 × 2 × 2 distributed deployment, one replay of the generated attack traffic with two faults
 * injected in turn (one warm-up for both: the machine is shared and a warm-up costs minutes):
 *
 * 1. when the attacks begin, one detector instance is SIGKILLed: its partitions move to the other instance once the
 *    broker's session timeout expires (~30 s on the mock), which restores their state from the checkpoint and replays
 *    from the checkpoint's offsets;
 * 2. halfway through the attacks, ClickHouse is unreachable for 30 s (a TCP proxy between every service and the
 *    shared server is cut, then restored) while records keep arriving.
 *
 * Each drill asserts nothing is lost (every record stored once, every attack an incident, no baseline forgotten: the
 * attacks are still judged against learned baselines) and nothing is duplicated (one incident per attack, opened
 * once per socket client and delivered once per webhook; no anomaly broadcast twice).
 * Webhook receiver faults (500, timeouts, 429 + Retry-After) are covered by test/integration/webhook-delivery.int-spec.ts
 * and the flaky receiver of test/e2e/alert-pipeline.e2e-spec.ts.
 */
jest.setTimeout(480_000);

const OUTAGE_MS = 30_000;

/**
 * Not yet green, so not in the default run: set VIGIL_E2E_DISTRIBUTED=1 to run it. Open findings (issue 7): a false
 * incident on a normal token in the 2x2x2 run, and an incident notification lost when ClickHouse fails between the
 * incident upsert and the live-event log (ProcessAnomalies needs an outbox). See the README's known gaps.
 */
const describeDistributed = process.env.VIGIL_E2E_DISTRIBUTED === '1' ? describe : describe.skip;

describeDistributed('distributed fault drills: detector SIGKILL, then a 30 s ClickHouse outage, mid-stream', () => {
  let cluster: Cluster;
  let obs: Observers;
  let scenario: Scenario;
  let proxy: TcpProxy;
  const drill = { killedAtChunk: -1, killedAt: 0, cutAt: 0, restoredAt: 0, refused: 0, eventsAtCut: 0 };

  beforeAll(async () => {
    const direct = new URL(testEndpoints().clickhouseUrl);
    proxy = await TcpProxy.start(direct.hostname, Number(direct.port));
    scenario = attackScenario();
    cluster = await Cluster.start({
      label: 'drill',
      clickhouseUrl: proxy.url,
      observerClickhouseUrl: direct.origin,
      env: { VIGIL_DETECTOR_LATENESS_MS: '60000', VIGIL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', VIGIL_DETECTOR_CHECKPOINT_INTERVAL_MS: '120000' },
    });
    obs = await observe(cluster);
    let attackChunk = -1;
    let ungated = 0;
    await replayRecords(cluster, scenario.records(), {
      warmupEnd: scenario.warmupEnd,
      warmupChunkMs: 120_000,
      chunkMs: 30_000,
      gateTimeoutMs: 120_000,
      onChunk: async ({ index, endTs }) => {
        if (endTs <= scenario.warmupEnd) return true;
        attackChunk += 1;
        if (attackChunk === 0) {
          drill.killedAtChunk = index;
          drill.killedAt = Date.now();
          await cluster.kill('detector', 1, 'SIGKILL');
        }
        if (attackChunk === 16) {
          drill.eventsAtCut = (await cluster.eventCounts()).ids;
          proxy.cut();
          drill.cutAt = Date.now();
          setTimeout(() => {
            drill.refused = proxy.refused;
            proxy.restore();
            drill.restoredAt = Date.now();
          }, OUTAGE_MS);
        }
        if (drill.cutAt && !drill.restoredAt) {
          // Records keep arriving during the outage (three chunks of event time), then the replay waits for the cut to end.
          if (++ungated <= 3) return false;
          await waitFor(() => drill.restoredAt > 0, { timeoutMs: OUTAGE_MS + 10_000, what: 'the ClickHouse link to come back' });
        }
        return true;
      },
    });
    await waitForAttackIncidents(obs, scenario.labels, 240_000);
    await waitForNoLag(cluster, 120_000);
    await waitFor(() => exactlyOnceReport(obs, scenario).sameIncidentsEverywhere, { timeoutMs: 90_000, what: 'every observer to see the same incidents' });
  });

  afterAll(async () => {
    await obs?.close();
    if (cluster) {
      const errors = cluster.errors();
      if (errors.length) process.stderr.write(`service errors (${errors.length}): ${JSON.stringify(errors.slice(0, 10), null, 1)}\n`);
      // The services' own logs, for a post-mortem of a failed drill (artifacts/ is not committed).
      cluster.dumpLogs(`artifacts/e2e-logs/${cluster.prefix}`);
      await cluster.stop();
    }
    await proxy?.close();
  });

  it('the surviving detector takes over every partition of the killed one and restores their state from checkpoints', () => {
    const survivor = cluster.instance('detector', 0);
    const after = survivor.logs().filter((l) => Date.parse(String(l.time)) >= drill.killedAt);
    const assigned = after.filter((l) => l.msg === 'kafka partitions assigned').map((l) => [l.topic, (l.partitions as number[]).length]);
    // Both detector topics (access events, re-keyed partials) auto-created with 4 partitions: all four held by the survivor.
    expect(assigned.filter(([, n]) => n === 4).map(([t]) => t).sort()).toEqual(
      [cluster.topics.VIGIL_ACCESS_EVENTS_TOPIC, cluster.topics.VIGIL_DETECTOR_REKEY_TOPIC].sort(),
    );
    const restored = after.filter((l) => l.msg === 'detector state restored from checkpoint');
    expect(restored.length).toBeGreaterThan(0);
    expect(restored.every((l) => Number(l.entities) > 0)).toBe(true);
  });

  it('keeps trying ClickHouse during the outage and stores every record exactly once afterwards', async () => {
    expect(drill.restoredAt - drill.cutAt).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(drill.refused).toBeGreaterThan(0);
    const n = [...scenario.records()].length;
    expect(await cluster.eventCounts()).toMatchObject({ ids: n, final: n });
  });

  it('still turns every attack into exactly one incident, once per socket client and once per webhook, with no anomaly twice', () => {
    expect(exactlyOnceReport(obs, scenario)).toEqual(cleanReport(scenario));
  });

  it('judges the attacks after the kill against the learned baselines: each incident names its expected detector', async () => {
    const found = await Promise.all(scenario.labels.map(async (l) => [l.class, (await incidentDetectors(cluster, obs, l.entityType, l.entity)).includes(l.expectedDetector)]));
    expect(found).toEqual(scenario.labels.map((l) => [l.class, true]));
  });
});
