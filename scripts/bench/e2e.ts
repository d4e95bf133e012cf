/**
 * End to end, log in → incident out, in standalone and in distributed mode:
 *
 *   npx tsx scripts/bench/e2e.ts [--mode both|standalone|distributed] [--rps 10] [--minutes 60] [--instances 2] [--chunk-s 300]
 *
 * (`npm run bench:e2e` runs `tsc -b` first: the services run from their build.) Infrastructure for distributed mode:
 * VIGIL_TEST_CLICKHOUSE_URL, VIGIL_TEST_REDIS_URL, VIGIL_TEST_KAFKA_BROKERS (as the e2e tests).
 *
 * The traffic is the distributed e2e suite's: `--minutes` of seeded Kong traffic ending now, a warm-up and five
 * labelled attacks (brute force, scanning, injection, flood, token theft). It is shipped in chunks of `--chunk-s`
 * seconds of event time, as fast as the deployment takes them: standalone through POST /v1/logs (the next chunk once
 * the previous one is accepted), distributed through the raw-log topic (the next chunk once ingest has stored the
 * previous one, so the two ingest instances stay within one chunk of event time of each other; distributed chunks are
 * at most the e2e suite's REPLAY_CHUNK_MS, half the detector's lateness: with 300 s chunks two ingest instances
 * may be minutes of event time apart, beyond the lateness, and 2×2×2 runs missed one or two attacks; see cluster.ts).
 *
 * Prints per mode:
 * - sustained events/s, log in to incident out: records shipped / (first record shipped → every attack's incident on
 *   the socket.io client and no consumer lag left);
 * - detection latency p50/p99/max over the incidents: the wall time from shipping the chunk that holds the event
 *   which crossed the threshold (the incident's first anomaly's detectedAt, in event time) to incident.opened on a
 *   socket.io client. Chunk granularity: it includes the chunk's own shipping, and a detector that needs its window
 *   to close waits for the next chunks;
 * - peak RSS (VmHWM) per service process.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { SOCKET_NAMESPACE, type Anomaly, type Incident } from '@vigil/contracts';
import { newApiKeyToken, SqliteStore, type ApiKeyRecord } from '@vigil/platform';
import { waitFor } from '@vigil/testing/wait-for';
import { attackScenario, Cluster, REPLAY_CHUNK_MS, replayRecords, waitForNoLag, type Scenario } from '../../test/e2e/helpers/cluster.js';
import { spawnService, type ServiceProcess } from '../../test/e2e/helpers/service-process.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const MODE = args.get('mode') ?? 'both';
const RPS = Number(args.get('rps') ?? 10);
const MINUTES = Number(args.get('minutes') ?? 60);
const ATTACK_TIMEOUT_MS = Number(args.get('attack-timeout-s') ?? 300) * 1000;
const INSTANCES = Number(args.get('instances') ?? 2);
const CHUNK_MS = Number(args.get('chunk-s') ?? 300) * 1000;

interface Result {
  mode: string;
  events: number;
  seconds: number;
  incidents: number;
  latenciesMs: number[];
  peakRss: { who: string; bytes: number }[];
}

/** A socket.io client that timestamps incident.opened and remembers every anomaly it was sent. */
function liveClient(url: string, token: string) {
  const socket = io(`${url}${SOCKET_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token } });
  const opened: { incident: Incident; at: number }[] = [];
  const anomalies = new Map<string, Anomaly>();
  socket.on('incident.opened', (e) => opened.push({ incident: e.incident, at: Date.now() }));
  socket.on('anomaly.detected', (e) => anomalies.set(e.anomaly.id, e.anomaly));
  return {
    opened,
    anomalies,
    ready: async () => {
      await waitFor(() => socket.connected, { what: 'the socket to connect' });
      const ack = await socket.emitWithAck('subscribe', {});
      if (!ack.ok) throw new Error(`subscribe refused: ${ack.error}`);
    },
    close: () => void socket.disconnect(),
  };
}

function latencies(client: ReturnType<typeof liveClient>, sentAt: (ts: number) => number): number[] {
  return client.opened.flatMap(({ incident, at }) => {
    const first = incident.anomalyIds.map((id) => client.anomalies.get(id)?.detectedAt).filter((t): t is number => t !== undefined);
    return first.length ? [at - sentAt(Math.min(...first))] : [];
  });
}

async function waitForAttacks(client: ReturnType<typeof liveClient>, s: Scenario): Promise<void> {
  await waitFor(() => {
    const missing = s.labels.filter((l) => !client.opened.some((o) => o.incident.entityType === l.entityType && o.incident.entity === l.entity));
    // thrown, so a timeout names the attacks still without an incident
    if (missing.length) throw new Error(`no incident yet for ${missing.map((l) => `${l.id} (${l.entityType} ${l.entity})`).join(', ')}`);
    return true;
  }, {
    timeoutMs: ATTACK_TIMEOUT_MS,
    intervalMs: 100,
    what: 'an incident for every attack',
  });
}

async function standalone(s: Scenario): Promise<Result> {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'vigil-bench-e2e-')), 'data');
  const tenant = 'bench';
  const t = newApiKeyToken();
  const store = new SqliteStore({ path: join(dataDir, 'vigil.sqlite') });
  await store.migrate();
  await store.apiKeys.put({
    id: t.id, tenant, name: 'bench', hash: t.hash, prefix: t.prefix, scopes: ['logs:write', 'alerts:read', 'incidents:read'], role: 'admin', allowedIps: [],
    createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0,
  } satisfies ApiKeyRecord);
  await store.close();
  const svc: ServiceProcess = await spawnService('standalone', { VIGIL_DATA_DIR: dataDir, VIGIL_TENANT: tenant, VIGIL_DETECTOR_LATENESS_MS: '60000', VIGIL_RATE_LIMIT_PER_MINUTE: '100000' }, 60_000);
  const client = liveClient(svc.url, t.token);
  try {
    await client.ready();
    const sent: { endTs: number; at: number }[] = [];
    let lines: string[] = [];
    let end: number | null = null;
    let events = 0;
    const post = async () => {
      if (end === null) return;
      sent.push({ endTs: end, at: Date.now() });
      for (;;) {
        const res = await fetch(`${svc.url}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/x-ndjson' }, body: lines.join('\n') + '\n' });
        await res.text();
        if (res.status === 429 || res.status === 503) {
          await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
          continue;
        }
        if (res.status !== 200) throw new Error(`POST /v1/logs: ${res.status}`);
        break;
      }
      events += lines.length;
      lines = [];
    };
    const began = Date.now();
    for (const r of s.records()) {
      if (end === null || r.event.ts >= end) {
        await post();
        end = (end ?? r.event.ts) + CHUNK_MS;
        while (r.event.ts >= end) end += CHUNK_MS;
      }
      lines.push(r.raw);
    }
    await post();
    await waitForAttacks(client, s);
    const seconds = (Date.now() - began) / 1000;
    const sentAt = (ts: number) => (sent.find((x) => ts < x.endTs) ?? sent[sent.length - 1])!.at;
    return { mode: 'standalone', events, seconds, incidents: client.opened.length, latenciesMs: latencies(client, sentAt), peakRss: [{ who: 'standalone', bytes: Cluster.peakRss(svc) ?? 0 }] };
  } finally {
    client.close();
    await svc.stop('SIGTERM');
  }
}

async function distributed(s: Scenario): Promise<Result> {
  const cluster = await Cluster.start({
    label: 'bench',
    instances: { ingest: INSTANCES, detector: INSTANCES, alert: INSTANCES },
    env: { VIGIL_DETECTOR_LATENESS_MS: '60000' },
  });
  const client = liveClient(cluster.instance('alert', 0).url, cluster.tokens.reader);
  try {
    await client.ready();
    // Within the detector's lateness, as the e2e suite replays: two ingest instances may each run a chunk ahead of the
    // other, and an access event more than the lateness behind its partition's newest is dropped as late.
    const replay = await replayRecords(cluster, s.records(), { chunkMs: Math.min(CHUNK_MS, REPLAY_CHUNK_MS), gateTimeoutMs: 300_000 });
    await waitForAttacks(client, s);
    await waitForNoLag(cluster, 120_000);
    const seconds = (Date.now() - replay.firstSentAt) / 1000;
    const peakRss = cluster.all().map((p, i) => ({ who: `${p.app}#${i % INSTANCES}`, bytes: Cluster.peakRss(p) ?? 0 }));
    return { mode: `distributed ${INSTANCES}×${INSTANCES}×${INSTANCES}`, events: replay.produced, seconds, incidents: client.opened.length, latenciesMs: latencies(client, replay.sentAt), peakRss };
  } finally {
    client.close();
    await cluster.stop();
  }
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function print(r: Result): void {
  const l = [...r.latenciesMs].sort((a, b) => a - b);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    [
      `== ${r.mode}`,
      `  sustained: ${r.events.toLocaleString('en-US')} events in ${r.seconds.toFixed(1)} s = ${Math.round(r.events / r.seconds).toLocaleString('en-US')} events/s (log in → every attack's incident out)`,
      `  detection latency over ${l.length} incidents (threshold-crossing event shipped → incident.opened on socket.io): p50 ${s(pct(l, 50))}, p99 ${s(pct(l, 99))}, max ${s(pct(l, 100))}`,
      `  incidents opened: ${r.incidents}`,
      `  peak RSS: ${r.peakRss.map((p) => `${p.who} ${(p.bytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}`,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  process.stdout.write(`bench:e2e — ${MINUTES} min of generated Kong traffic at ${RPS} req/s with 5 attacks, chunks of ${CHUNK_MS / 1000} s event time (distributed: ${Math.min(CHUNK_MS, REPLAY_CHUNK_MS) / 1000} s); ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n\n`);
  if (MODE === 'both' || MODE === 'standalone') print(await standalone(attackScenario({ minutes: MINUTES, rps: RPS, warmupMinutes: Math.round(MINUTES * 0.67) })));
  if (MODE === 'both' || MODE === 'distributed') print(await distributed(attackScenario({ minutes: MINUTES, rps: RPS, warmupMinutes: Math.round(MINUTES * 0.67) })));
}

await main();
process.exit(0);
