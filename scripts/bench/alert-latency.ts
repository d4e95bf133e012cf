/**
 * Live-stream latency: with N socket.io clients connected to `/alerts` (default 1,000, each its own connection), the
 * time from an anomaly being published on the bus to a client receiving it, as `anomaly.detected` and as the
 * `incident.opened` it causes (p50 / p99 / max over every client × anomaly).
 *
 *   npx tsc -b && npx tsx scripts/bench/alert-latency.ts [--clients 1000] [--anomalies 200] [--rate 10]
 *                                                        [--mode both|standalone|distributed] [--instances 2]
 *                                                        [--client-processes 4] [--trace] [--server-log <path>] [--alert-main <path>]
 *
 * standalone   the compiled standalone app (apps/standalone/dist: in-process bus, SQLite) booted in a child process;
 *              the child publishes the anomalies on its in-process bus where the detector would (`vigil.anomalies`).
 * distributed  `--instances` compiled alert services (apps/alert/dist/main.js) on Kafka + ClickHouse + Redis with the
 *              socket.io Redis adapter, clients spread over the instances; this process produces the anomalies to
 *              Kafka (a topic of its own, VIGIL_DETECTOR_ANOMALIES_TOPIC), so most clients get them through Redis.
 *              Endpoints: VIGIL_BENCH_{CLICKHOUSE_URL,REDIS_URL,KAFKA_BROKERS}, else VIGIL_TEST_*, else the dev ports.
 * Every anomaly carries its publish time (wall clock, sub-millisecond) in its explanation; clients run in
 * --client-processes child processes (one event loop receiving 1,000 clients' events falls behind on a loaded machine,
 * and its queueing would be measured as latency), on the same machine's clock. Targets: p99 < 100 ms standalone, < 500 ms distributed.
 *
 * --trace     servers log at debug level; their per-batch timings of the measured run are summarised (p50/p99/max):
 *             queuedMs (bus append → consumer handler), then ProcessAnomalies' stages: wait (entity lock), read
 *             (silences, incidents, pending outbox), outbox (record), write (incident upserts + live-event log), emit
 *             (socket broadcast; the batch is released to the consumer here), then publish (for webhooks), which no
 *             longer holds up the partition's next batch (outbox done marks are written once a second for all batches).
 * Distributed runs also print the CPU the ClickHouse server and the Kafka mock used (found in /proc when local).
 * --server-log <path>  (distributed) each alert instance's log lines also go to <path>.<i>.
 * --alert-main <path>  (distributed) the alert service entry point to run instead of apps/alert/dist/main.js: for A/B
 *             runs of two builds (e.g. a copy of dist built from the previous commit) on the same infrastructure.
 *
 * On the dev Kafka mock every fetch returned one message per partition (one record batch: the bench produces each
 * anomaly on its own), so in distributed mode a partition takes at most one anomaly per batch time (read + outbox +
 * write + emit): at 10/s over 4 partitions that has to stay under ~400 ms, which a loaded machine does not give
 * (then a backlog builds and queuedMs, seconds, is most of the measured latency). kafkajs fetches again only once
 * every batch of the last fetch is handled, and the mock holds a fetch that found nothing for its whole maxWait even
 * when an anomaly arrives meanwhile (the bus uses 100 ms; 20 ms for the anomalies topic was tried and cost ~7 ms of
 * server CPU per anomaly for no end-to-end gain).
 *
 * Open files: this process holds one socket per client and each server one per client. If `ulimit -n` is below
 * about 2 × clients + 500, raise it first (`ulimit -n 8192`).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { anomalyKey, SOCKET_NAMESPACE, TOPICS, type Anomaly, type ClientToServerEvents, type ServerToClientEvents } from '@vigil/contracts';
import { EVENT_BUS, KafkaEventBus, newApiKeyToken, STORE, type ApiKeyRecord, type EventBus, type Store } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anAnomaly } from '@vigil/testing';
import { io, type Socket } from 'socket.io-client';
import { clickhousePid, cpuSecondsOf, kafkaMockPid } from './proc.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const num = (name: string, fallback: number): number => {
  const v = Number(opt(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};

const TENANT = 'bench';
/** The idle window before the measured run in which the servers' floor CPU is measured. */
const IDLE_WINDOW_MS = 5_000;
const SENT_AT = 'bench-sent-at:';
const WARMUP = 'bench-warmup:';
const SELF = fileURLToPath(import.meta.url);
const REPO = join(SELF, '..', '..', '..');

/** Wall-clock time with sub-millisecond resolution, comparable across processes on one machine. */
const wallNow = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------------------------
// Publishing (in the standalone child, or here for Kafka)

interface PublishCommand {
  kind: 'publish';
  count: number;
  rate: number;
  warmup: boolean;
}

let sequence = 0;
/** One anomaly on its own IP (so it opens an incident), stamped with its publish time. */
function benchAnomaly(warmup: boolean): Anomaly {
  sequence += 1;
  const now = Date.now();
  const windowStart = Math.floor(now / 60_000) * 60_000;
  const ip = `10.${(sequence >> 16) & 255}.${(sequence >> 8) & 255}.${sequence & 255}`;
  return anAnomaly({
    id: `bench-${process.pid}-${now.toString(36)}-${sequence}`, tenant: TENANT, detector: 'brute-force', entity: ip, windowStart,
    windowEnd: windowStart + 60_000, detectedAt: now, severity: 'high', explanation: `${warmup ? WARMUP : SENT_AT}${wallNow().toFixed(3)}`,
  });
}

/** Publishes `count` anomalies one by one, `rate` per second, each stamped just before it is handed to the bus. */
async function publishPaced(bus: EventBus, topic: string, count: number, rate: number, warmup: boolean): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const a = benchAnomaly(warmup);
    await bus.publish(topic, [{ key: anomalyKey(a), value: JSON.stringify(a) }]);
  }
}

function apiKey(tenant: string): { record: ApiKeyRecord; token: string } {
  const t = newApiKeyToken();
  return {
    token: t.token,
    record: { id: t.id, tenant, name: 'bench-reader', hash: t.hash, prefix: t.prefix, scopes: ['alerts:read'], role: 'viewer', allowedIps: [], createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0 },
  };
}

/** The standalone child: the compiled standalone app, plus a publisher of anomalies on its in-process bus. */
async function standaloneServer(): Promise<void> {
  const { runService } = await import('@vigil/platform');
  const { StandaloneModule } = (await import('@vigil/standalone/standalone.module')) as { StandaloneModule: Parameters<typeof runService>[1] };
  const { app, url } = await runService('standalone', StandaloneModule);
  const bus = app.get<EventBus>(EVENT_BUS);
  const key = apiKey(TENANT);
  await app.get<Store>(STORE).apiKeys.put(key.record);
  process.on('message', (m: PublishCommand) => {
    void publishPaced(bus, TOPICS.anomalies, m.count, m.rate, m.warmup).then(() => process.send?.({ kind: 'published' }));
  });
  process.send?.({ kind: 'ready', url, token: key.token });
}

// ---------------------------------------------------------------------------------------------------------------
// Clients and measurement

interface Samples {
  anomaly: number[];
  incident: number[];
}

class Audience {
  readonly clients: Client[] = [];
  samples: Samples = { anomaly: [], incident: [] };
  /** Warm-up anomalies each client has received (as anomaly.detected). */
  warmedUp = new Map<Client, number>();

  /** Connects `n` clients round-robin over `urls`, `parallel` handshakes at a time, each subscribed to its tenant. */
  async connect(urls: string[], token: string, n: number, parallel = 50): Promise<number> {
    const started = performance.now();
    for (let i = 0; i < n; i += parallel) {
      await Promise.all(
        Array.from({ length: Math.min(parallel, n - i) }, (_, j) => this.connectOne(urls[(i + j) % urls.length]!, token)),
      );
    }
    return performance.now() - started;
  }

  private async connectOne(url: string, token: string): Promise<void> {
    // forceNew: one engine.io connection per client, as 1,000 browsers would have (socket.io multiplexes otherwise).
    const c: Client = io(`${url}${SOCKET_NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
    this.clients.push(c);
    const stamp = (explanation: string, into: keyof Samples) => {
      if (explanation.startsWith(SENT_AT)) this.samples[into].push(wallNow() - Number(explanation.slice(SENT_AT.length)));
      else if (into === 'anomaly' && explanation.startsWith(WARMUP)) this.warmedUp.set(c, (this.warmedUp.get(c) ?? 0) + 1);
    };
    c.on('anomaly.detected', (e) => stamp(e.anomaly.explanation, 'anomaly'));
    c.on('incident.opened', (e) => stamp(e.incident.explanation, 'incident'));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('connect_error', (err) => reject(new Error(`connect to ${url}: ${err.message}`)));
    });
    const ack = await c.timeout(30_000).emitWithAck('subscribe', {});
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error}`);
  }

  close(): void {
    for (const c of this.clients) c.disconnect();
  }
}

type CrowdRequest =
  | { kind: 'connect'; urls: string[]; token: string; n: number }
  | { kind: 'status' }
  | { kind: 'reset' }
  | { kind: 'samples' }
  | { kind: 'close' };
interface CrowdStatus {
  warmed: number;
  /** The fewest warm-up anomalies any client has received. */
  minWarm: number;
  anomaly: number;
  incident: number;
}

/** A child process holding some of the clients (`--role clients`): answers CrowdRequests over IPC, one at a time. */
async function clientsRole(): Promise<void> {
  const audience = new Audience();
  const reply = (m: unknown) => process.send?.(m);
  // A clean exit on the parent's SIGTERM, so `node --cpu-prof` writes the child's profile too.
  process.once('SIGTERM', () => process.exit(0));
  process.on('message', (req: CrowdRequest) => {
    void (async () => {
      switch (req.kind) {
        case 'connect':
          return reply(await audience.connect(req.urls, req.token, req.n));
        case 'status':
          return reply({ warmed: audience.warmedUp.size, minWarm: audience.clients.reduce((m, c) => Math.min(m, audience.warmedUp.get(c) ?? 0), Infinity), anomaly: audience.samples.anomaly.length, incident: audience.samples.incident.length } satisfies CrowdStatus);
        case 'reset':
          audience.samples = { anomaly: [], incident: [] };
          return reply(true);
        case 'samples':
          return reply(audience.samples);
        case 'close':
          audience.close();
          reply(true);
          return process.disconnect?.();
      }
    })().catch((err: unknown) => {
      console.error('clients child:', err);
      process.exit(1);
    });
  });
  process.send?.('ready');
}

/**
 * The clients, spread over child processes: one event loop cannot take 1,000 clients' events at 20 broadcasts/s on a
 * loaded machine without queueing, and that queueing would be measured as latency. Same machine, same clock.
 */
class Crowd {
  private readonly children: ChildProcess[] = [];
  size = 0;

  static async start(processes: number): Promise<Crowd> {
    const crowd = new Crowd();
    for (let i = 0; i < processes; i++) {
      const child = fork(SELF, ['--role', 'clients'], { cwd: REPO, execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      crowd.children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`a clients child exited (${code}) before it was ready`)));
      });
    }
    return crowd;
  }

  pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  /** One request to one child; children answer in order, one request at a time per caller. */
  private ask<T>(child: ChildProcess, req: CrowdRequest): Promise<T> {
    return new Promise<T>((resolve) => {
      child.once('message', (m: T) => resolve(m));
      child.send(req);
    });
  }

  /** `n` clients round-robin over `urls`, split evenly over the children; returns the time it took (ms). */
  async connect(urls: string[], token: string, n: number): Promise<number> {
    const started = performance.now();
    const k = this.children.length;
    await Promise.all(
      this.children.map((c, i) =>
        this.ask(c, { kind: 'connect', urls: urls.map((_, j) => urls[(i + j) % urls.length]!), token, n: Math.floor(n / k) + (i < n % k ? 1 : 0) }),
      ),
    );
    this.size = n;
    return performance.now() - started;
  }

  async status(): Promise<CrowdStatus> {
    const all = await Promise.all(this.children.map((c) => this.ask<CrowdStatus>(c, { kind: 'status' })));
    return all.reduce(
      (t, s) => ({ warmed: t.warmed + s.warmed, minWarm: Math.min(t.minWarm, s.minWarm), anomaly: t.anomaly + s.anomaly, incident: t.incident + s.incident }),
      { warmed: 0, minWarm: Infinity, anomaly: 0, incident: 0 },
    );
  }

  async reset(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { kind: 'reset' })));
  }

  async samples(): Promise<Samples> {
    const all = await Promise.all(this.children.map((c) => this.ask<Samples>(c, { kind: 'samples' })));
    return { anomaly: all.flatMap((s) => s.anomaly), incident: all.flatMap((s) => s.incident) };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.connected) await this.ask(c, { kind: 'close' });
        await stop(c);
      }),
    );
  }
}


function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Collects the servers' debug timing lines (`--trace`) and summarises those of the measured run. */
class Trace {
  private lines: Record<string, unknown>[] = [];

  attach(child: ChildProcess): void {
    let rest = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (!line.includes('"anomalies processed"') && !line.includes('"anomaly batch received"')) continue;
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON: skip
        }
      }
    });
  }

  clear(): void {
    this.lines = [];
  }

  summary(): string[] {
    const series = new Map<string, number[]>();
    const add = (name: string, v: unknown) => {
      if (typeof v === 'number') series.set(name, [...(series.get(name) ?? []), v]);
    };
    for (const l of this.lines) {
      add('queuedMs', l['queuedMs']);
      const ms = l['ms'];
      if (ms && typeof ms === 'object') for (const [k, v] of Object.entries(ms)) add(k, v);
    }
    const batches = this.lines.filter((l) => l['msg'] === 'anomalies processed').length;
    return [
      `  stages over ${batches} batches (ms):`,
      ...[...series].map(([k, xs]) => {
        const sorted = [...xs].sort((a, b) => a - b);
        return `    ${k.padEnd(9)} p50 ${percentile(sorted, 0.5).toFixed(1).padStart(7)}   p99 ${percentile(sorted, 0.99).toFixed(1).padStart(7)}   max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1).padStart(7)}`;
      }),
    ];
  }
}

const TRACE = argv.includes('--trace');
/** --server-log <path>: each alert instance's log lines go to <path>.<i> too (distributed). */
const SERVER_LOG = opt('server-log', '');
/** --alert-main <path>: the alert entry point of the distributed instances (A/B of two builds). */
const ALERT_MAIN = opt('alert-main', join(REPO, 'apps', 'alert', 'dist', 'main.js'));

interface Result {
  stages?: string[];
  mode: string;
  clients: number;
  anomalies: number;
  rate: number;
  connectMs: number;
  anomaly: { received: number; p50: number; p99: number; max: number };
  incident: { received: number; p50: number; p99: number; max: number };
  targetMs: number;
  /** Wall time of the measured run, and the CPU seconds the servers and the client processes used in it. */
  wallS: number;
  serverCpuS: number;
  clientCpuS: number;
  /** Of serverCpuS, the kernel's share (stime), and the servers' write syscalls in the measured run (Linux /proc; NaN elsewhere). */
  serverSysS: number;
  serverWrites: number;
  /** The servers' CPU (all instances together) in an idle window just before the measured run, ms per second. */
  idleServerCpuMsPerS: number;
  /** CPU seconds the ClickHouse server and the Kafka mock used in the measured run (distributed, when they run on this machine). */
  clickhouseCpuS?: number;
  brokerCpuS?: number;
}

/**
 * Warm-up (publish until every client has received a warm-up event: subscriptions and consumer groups are live; then
 * until every client has every warm-up event, so none is still queued), then
 * the measured run; waits until every client has every anomaly or 15 s after the last publish.
 */
async function measure(
  mode: string,
  audience: Crowd,
  publish: (count: number, rate: number, warmup: boolean) => Promise<void>,
  o: { anomalies: number; rate: number; connectMs: number; targetMs: number; serverPids: number[]; clickhousePid?: number | null; brokerPid?: number | null; trace?: Trace },
): Promise<Result> {
  const n = audience.size;
  const warmDeadline = Date.now() + 120_000;
  let warmed = 0;
  let warmups = 0;
  while ((warmed = (await audience.status()).warmed) < n) {
    if (Date.now() > warmDeadline) throw new Error(`only ${warmed}/${n} clients received a warm-up event in 120 s`);
    await publish(1, 1, true);
    warmups += 1;
    await untilAsync(async () => (await audience.status()).warmed === n, 2_000);
  }
  // Every warm-up published has to reach every client first: on a slow pipeline the later ones would still be queued
  // on the bus ahead of the measured anomalies, and their backlog measured as latency.
  await untilAsync(async () => (await audience.status()).minWarm >= warmups, 120_000);
  const { minWarm } = await audience.status();
  if (minWarm < warmups) throw new Error(`a client received ${minWarm} of the ${warmups} warm-up anomalies in 120 s`);
  await audience.reset();
  o.trace?.clear();
  const serverCpu = () => o.serverPids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const serverSys = () => o.serverPids.reduce((sum, pid) => sum + procFigures(pid).sysS, 0);
  const serverWrites = () => o.serverPids.reduce((sum, pid) => sum + procFigures(pid).writes, 0);
  const clientCpu = () => audience.pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const clickhouseCpu = () => (o.clickhousePid ? cpuSecondsOf(o.clickhousePid) : NaN);
  const brokerCpu = () => (o.brokerPid ? cpuSecondsOf(o.brokerPid) : NaN);
  // The servers' CPU while idle (every client connected, nothing published): their floor (consumer polls, timers).
  const idle0 = { server: serverCpu(), wall: performance.now() };
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const idleServerCpuMsPerS = ((serverCpu() - idle0.server) * 1e6) / (performance.now() - idle0.wall);
  const cpu0 = { server: serverCpu(), sys: serverSys(), writes: serverWrites(), client: clientCpu(), clickhouse: clickhouseCpu(), broker: brokerCpu(), wall: performance.now() };
  await publish(o.anomalies, o.rate, false);
  const expected = o.anomalies * n;
  await untilAsync(async () => {
    const s = await audience.status();
    return s.anomaly >= expected && s.incident >= expected;
  }, 15_000);
  const clickhouseCpuS = clickhouseCpu() - cpu0.clickhouse;
  const brokerCpuS = brokerCpu() - cpu0.broker;
  const usage = {
    wallS: (performance.now() - cpu0.wall) / 1000,
    serverCpuS: serverCpu() - cpu0.server,
    idleServerCpuMsPerS,
    serverSysS: serverSys() - cpu0.sys,
    serverWrites: serverWrites() - cpu0.writes,
    clientCpuS: clientCpu() - cpu0.client,
    ...(Number.isFinite(clickhouseCpuS) ? { clickhouseCpuS } : {}),
    ...(Number.isFinite(brokerCpuS) ? { brokerCpuS } : {}),
  };
  const samples = await audience.samples();
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { received: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s[s.length - 1] ?? NaN };
  };
  return { ...(o.trace ? { stages: o.trace.summary() } : {}), mode, clients: n, anomalies: o.anomalies, rate: o.rate, connectMs: o.connectMs, anomaly: stats(samples.anomaly), incident: stats(samples.incident), targetMs: o.targetMs, ...usage };
}

/** A process's kernel CPU seconds (stime) and write syscalls so far, from /proc (Linux); NaN elsewhere. */
function procFigures(pid: number): { sysS: number; writes: number } {
  try {
    const stime = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[12]) / 100;
    const syscw = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return { sysS: stime, writes: syscw ? Number(syscw[1]) : NaN };
  } catch {
    return { sysS: NaN, writes: NaN };
  }
}

/** Polls `check` every 50 ms until it holds or `timeoutMs` passes (then returns quietly: the caller reports what arrived). */
async function untilAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function print(r: Result): void {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
  const expected = r.anomalies * r.clients;
  const line = (label: string, s: Result['anomaly']) =>
    `  ${label.padEnd(17)} received ${s.received}/${expected}   p50 ${ms(s.p50).padStart(9)}   p99 ${ms(s.p99).padStart(9)}   max ${ms(s.max).padStart(9)}`;
  const worst = Math.max(r.anomaly.p99, r.incident.p99);
  const complete = r.anomaly.received === expected && r.incident.received === expected;
  process.stdout.write(
    [
      '',
      `${r.mode}: ${r.clients} clients (connected in ${(r.connectMs / 1000).toFixed(1)} s), ${r.anomalies} anomalies at ${r.rate}/s`,
      line('anomaly.detected', r.anomaly),
      line('incident.opened', r.incident),
      `  measured run ${r.wallS.toFixed(1)} s: server CPU ${r.serverCpuS.toFixed(1)} s (${((r.serverCpuS * 1000 * r.clients) / Math.max(1, r.anomaly.received)).toFixed(1)} ms per anomaly delivered), clients' CPU ${r.clientCpuS.toFixed(1)} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`,
      `  servers in the 5 s before the run, no anomalies: ${r.idleServerCpuMsPerS.toFixed(1)} ms CPU per s (not an idle floor: a new deployment's start-up work, e.g. its webhooks group reading the incidents topic's history, is in it)`,
      `  servers: kernel ${r.serverSysS.toFixed(1)} s of that CPU, ${(r.serverWrites / Math.max(1, r.anomaly.received)).toFixed(2)} write syscalls per anomaly per client` +
        ` (${((r.serverSysS * 1e6) / Math.max(1, r.serverWrites)).toFixed(1)} us kernel, ${(((r.serverCpuS - r.serverSysS) * 1e6) / Math.max(1, r.serverWrites)).toFixed(1)} us user per write)`,
      ...(r.clickhouseCpuS !== undefined
        ? [
            `  ClickHouse server CPU ${r.clickhouseCpuS.toFixed(1)} s (${((r.clickhouseCpuS * 1000) / r.anomalies).toFixed(1)} ms per anomaly)` +
              (r.brokerCpuS !== undefined ? `, Kafka mock ${r.brokerCpuS.toFixed(1)} s` : '') +
              ' (their other users count too)',
          ]
        : []),
      `  target p99 < ${r.targetMs} ms: ${complete && worst < r.targetMs ? 'met' : complete ? `MISSED (p99 ${worst.toFixed(1)} ms)` : 'MISSED (events lost)'}`,
      ...(r.stages ?? []),
      '',
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The two deployments

async function runStandalone(clients: number, anomalies: number, rate: number, clientProcesses: number): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-alert-'));
  const child = fork(SELF, ['--role', 'standalone-server'], {
    cwd: REPO,
    execArgv: process.execArgv,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VIGIL_MODE: 'standalone', VIGIL_DATA_DIR: join(dataDir, 'data'), PORT: '0', VIGIL_HTTP_HOST: '127.0.0.1', LOG_LEVEL: TRACE ? 'debug' : 'warn', VIGIL_TENANT: TENANT },
    stdio: ['ignore', TRACE ? 'pipe' : 'ignore', 'inherit', 'ipc'],
  });
  const trace = TRACE ? new Trace() : undefined;
  trace?.attach(child);
  const audience = await Crowd.start(clientProcesses);
  try {
    const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      child.once('message', (m: { url: string; token: string }) => resolve(m));
      child.once('exit', (code) => reject(new Error(`the standalone child exited (${code}) before it was ready`)));
    });
    const connectMs = await audience.connect([ready.url], ready.token, clients);
    const publish = (count: number, r: number, warmup: boolean) =>
      new Promise<void>((resolve) => {
        child.once('message', () => resolve());
        child.send({ kind: 'publish', count, rate: r, warmup } satisfies PublishCommand);
      });
    return await measure('standalone (in-process bus, SQLite)', audience, publish, { anomalies, rate, connectMs, targetMs: 100, serverPids: [child.pid ?? -1], ...(trace ? { trace } : {}) });
  } finally {
    await audience.close();
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runDistributed(clients: number, anomalies: number, rate: number, instances: number, clientProcesses: number): Promise<Result> {
  const clickhouseUrl = process.env.VIGIL_BENCH_CLICKHOUSE_URL ?? process.env.VIGIL_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';
  const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:16379';
  const brokers = (process.env.VIGIL_BENCH_KAFKA_BROKERS ?? process.env.VIGIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:44483').split(',');
  const run = `${process.pid}_${Date.now().toString(36)}`;
  const prefix = `bench-alert-${run}`;
  const database = `bench_alert_${run}`;
  const topic = `bench.anomalies.${run}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-alert-'));

  const store = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database });
  await store.migrate();
  const key = apiKey(TENANT);
  await store.apiKeys.put(key.record);
  await store.close();

  const children: ChildProcess[] = [];
  const trace = TRACE ? new Trace() : undefined;
  const bus = new KafkaEventBus({ brokers, clientId: prefix });
  const audience = await Crowd.start(clientProcesses);
  try {
    const urls = await Promise.all(
      Array.from({ length: instances }, (_, i) => {
        // VIGIL_BENCH_NODE_ARGS, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof', profiles the alert instances.
        const nodeArgs = (process.env.VIGIL_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
        const child = spawn(process.execPath, [...nodeArgs, ALERT_MAIN], {
          cwd: REPO,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin', VIGIL_MODE: 'distributed', KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP_PREFIX: prefix,
            KAFKA_CLIENT_ID: `${prefix}-${i}`, CLICKHOUSE_URL: clickhouseUrl, CLICKHOUSE_DATABASE: database, REDIS_URL: redisUrl,
            VIGIL_HASH_KEY: 'bench-hash-key-0123456789abcdef', VIGIL_DETECTOR_ANOMALIES_TOPIC: topic, VIGIL_TENANT: TENANT,
            VIGIL_DATA_DIR: join(dataDir, String(i)), PORT: '0', VIGIL_HTTP_HOST: '127.0.0.1', LOG_LEVEL: TRACE ? 'debug' : 'info',
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        trace?.attach(child);
        if (SERVER_LOG) child.stdout?.pipe(createWriteStream(`${SERVER_LOG}.${i}`));
        return listeningUrl(child);
      }),
    );
    const connectMs = await audience.connect(urls, key.token, clients);
    const publish = (count: number, r: number, warmup: boolean) => publishPaced(bus, topic, count, r, warmup);
    return await measure(`distributed (Kafka, ClickHouse, Redis adapter, ${instances} alert instance${instances > 1 ? 's' : ''})`, audience, publish, {
      anomalies, rate, connectMs, targetMs: 500, serverPids: children.map((c) => c.pid ?? -1), clickhousePid: clickhousePid(clickhouseUrl), brokerPid: kafkaMockPid(brokers.join(',')), ...(trace ? { trace } : {}),
    });
  } finally {
    await audience.close();
    await Promise.all(children.map(stop));
    await bus.close();
    await fetch(clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await deleteRedisKeys(redisUrl, prefix);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The URL a service listens on, from its JSON boot log line (`component: boot`, `port`). */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let found = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (found) return; // keep draining stdout so the child never blocks on a full pipe
      buffered += d;
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { component?: string; port?: number };
          if (j.component === 'boot' && typeof j.port === 'number') {
            found = true;
            resolve(`http://127.0.0.1:${j.port}`);
            return;
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`an alert instance exited (${code}) before it listened`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------

if (opt('role', '') === 'standalone-server') {
  await standaloneServer();
} else if (opt('role', '') === 'clients') {
  await clientsRole();
} else {
  const clients = num('clients', 1000);
  const anomalies = num('anomalies', 200);
  const rate = num('rate', 10);
  const mode = opt('mode', 'both');
  const instances = num('instances', 2);
  const clientProcesses = num('client-processes', 4);
  process.stdout.write(`bench:alert latency — ${clients} clients in ${clientProcesses} processes, ${anomalies} anomalies at ${rate}/s, mode ${mode} (ulimit -n must exceed ~${2 * clients + 500})\n`);
  const results: Result[] = [];
  if (mode === 'both' || mode === 'standalone') results.push(await runStandalone(clients, anomalies, rate, clientProcesses));
  if (mode === 'both' || mode === 'distributed') results.push(await runDistributed(clients, anomalies, rate, instances, clientProcesses));
  results.forEach(print);
  process.exit(0);
}
