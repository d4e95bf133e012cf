import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { newApiKeyToken, KafkaEventBus, type ApiKeyRecord } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
// The wait-for and endpoints modules only: the testing index pulls in Jest-only contract suites, and the benchmarks
// use this helper outside Jest.
import { testEndpoints } from '@vigil/testing/endpoints';
import { uniqueName, waitFor } from '@vigil/testing/wait-for';
import { TrafficPlan, type AttackClass, type AttackLabel, type GeneratedRecord } from '@vigil/testing/traffic/index';
import { WebhookPayloadV1 } from '@vigil/contracts';
import { connectAlerts, type AlertsConnection } from './alert-socket.js';
import { clickhouseRows, postIdempotent } from '../../fixtures/ingest-harness.js';
import { spawnService, type Exit, type ServiceProcess } from './service-process.js';
import { WebhookReceiver } from '../../fixtures/webhook-receiver.js';

/**
 * N instances of each distributed service (ingest, detector, alert) as child processes of this test, sharing one
 * deployment: the same topics, consumer-group prefix, ClickHouse database, Redis key prefix and tenant, all unique to
 * this cluster so concurrent runs never see each other's data. Infrastructure endpoints come from `testEndpoints()`
 * unless overridden (a TCP proxy in front of ClickHouse, a private Redis or Kafka mock for a fault drill).
 */
export type ClusterApp = 'ingest' | 'detector' | 'alert';
const APPS: readonly ClusterApp[] = ['ingest', 'detector', 'alert'];

export type KeyName = 'shipper' | 'reader' | 'integrator' | 'admin';
const SCOPES: Record<KeyName, string[]> = {
  shipper: ['logs:write'],
  reader: ['alerts:read', 'incidents:read'],
  integrator: ['webhooks:manage', 'incidents:read'],
  admin: ['logs:write', 'alerts:read', 'incidents:read', 'incidents:write', 'webhooks:manage'],
};

export interface ClusterOptions {
  /** Short name for databases, topics and groups (letters, digits, underscores). */
  label: string;
  /** Instances per service (default 2 each; 0 = not started). */
  instances?: Partial<Record<ClusterApp, number>>;
  /** Environment added to every service (e.g. detector or webhook settings). */
  env?: Record<string, string>;
  /** Environment added to one service's instances. */
  envOf?: Partial<Record<ClusterApp, Record<string, string>>>;
  /** Infrastructure overrides; default `testEndpoints()`. */
  clickhouseUrl?: string;
  redisUrl?: string;
  kafkaBrokers?: string[];
  /** ClickHouse the test itself reads through (default clickhouseUrl): the direct server when the services go through a proxy. */
  observerClickhouseUrl?: string;
  /**
   * Readiness budget per instance (default 180 s): a group join on the mock takes ~3 s, ~30 s after a SIGKILLed
   * member, and six instances joining at once on a loaded machine rebalance several times (a detector's two groups
   * took over 90 s at a load average of 16 on two cores).
   */
  bootTimeoutMs?: number;
}

export interface ClusterTopics {
  VIGIL_RAW_LOGS_TOPIC: string;
  VIGIL_DLQ_TOPIC: string;
  VIGIL_ACCESS_EVENTS_TOPIC: string;
  VIGIL_DETECTOR_REKEY_TOPIC: string;
  VIGIL_DETECTOR_ANOMALIES_TOPIC: string;
}

/** One sample of /metrics that the drills and benchmarks read. */
export interface MetricsSample {
  /** Sum of vigil_consumer_lag over every partition the instance holds. */
  lag: number;
  rssBytes: number;
}

export class Cluster {
  readonly tenant: string;
  readonly database: string;
  readonly prefix: string;
  readonly topics: ClusterTopics;
  readonly clickhouseUrl: string;
  /** Where the test reads ClickHouse (bypasses a drill's proxy). */
  readonly observerUrl: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: string[];
  /** API tokens with the scopes their names say, stored before the services start. */
  readonly tokens: Record<KeyName, string>;
  private readonly procs: Record<ClusterApp, ServiceProcess[]> = { ingest: [], detector: [], alert: [] };
  /** Every process ever started, for logs and cleanup (a restarted instance keeps its predecessor's output). */
  private readonly history: ServiceProcess[] = [];
  private producer: KafkaEventBus | null = null;
  private readonly exited = new Set<ServiceProcess>();

  private constructor(private readonly opts: ClusterOptions) {
    const ep = opts.clickhouseUrl && opts.redisUrl && opts.kafkaBrokers ? null : testEndpoints();
    this.clickhouseUrl = opts.clickhouseUrl ?? ep!.clickhouseUrl;
    this.observerUrl = opts.observerClickhouseUrl ?? this.clickhouseUrl;
    this.redisUrl = opts.redisUrl ?? ep!.redisUrl;
    this.kafkaBrokers = opts.kafkaBrokers ?? ep!.kafkaBrokers;
    const label = opts.label.replace(/[^A-Za-z0-9_]/g, '_');
    this.database = uniqueName(`e2e_${label}`).replace(/[^A-Za-z0-9_]/g, '_');
    this.prefix = uniqueName(`e2e-${label}`);
    this.tenant = uniqueName(`t-${label}`);
    this.topics = {
      VIGIL_RAW_LOGS_TOPIC: uniqueName(`e2e-${label}-raw`),
      VIGIL_DLQ_TOPIC: uniqueName(`e2e-${label}-dlq`),
      VIGIL_ACCESS_EVENTS_TOPIC: uniqueName(`e2e-${label}-events`),
      VIGIL_DETECTOR_REKEY_TOPIC: uniqueName(`e2e-${label}-rekeyed`),
      VIGIL_DETECTOR_ANOMALIES_TOPIC: uniqueName(`e2e-${label}-anomalies`),
    };
    this.tokens = {} as Record<KeyName, string>;
  }

  /** Migrates the database, stores the API keys, then boots every instance and waits until each answers /health/live. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    const store = new ClickHouseStore({ url: c.observerUrl, user: 'default', password: '', database: c.database });
    try {
      await store.migrate();
      for (const r of c.keyRecords()) await store.apiKeys.put(r);
    } finally {
      await store.close();
    }
    try {
      await Promise.all(
        APPS.flatMap((app) => Array.from({ length: opts.instances?.[app] ?? 2 }, (_, i) => c.boot(app, i))),
      );
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
    return c;
  }

  /** The environment every instance gets (service-specific additions on top). */
  env(app: ClusterApp): Record<string, string> {
    return {
      VIGIL_MODE: 'distributed',
      KAFKA_BROKERS: this.kafkaBrokers.join(','),
      KAFKA_CLIENT_ID: this.prefix,
      KAFKA_GROUP_PREFIX: this.prefix,
      CLICKHOUSE_URL: this.clickhouseUrl,
      CLICKHOUSE_DATABASE: this.database,
      REDIS_URL: this.redisUrl,
      VIGIL_HASH_KEY: 'e2e-hash-key-0123456789abcdef',
      VIGIL_TENANT: this.tenant,
      LOG_LEVEL: 'info',
      ...this.topics,
      ...this.opts.env,
      ...this.opts.envOf?.[app],
    };
  }

  instances(app: ClusterApp): readonly ServiceProcess[] {
    return this.procs[app];
  }

  instance(app: ClusterApp, i: number): ServiceProcess {
    const p = this.procs[app][i];
    if (!p) throw new Error(`no ${app} instance #${i}`);
    return p;
  }

  /** Every instance still running. */
  all(): ServiceProcess[] {
    return APPS.flatMap((a) => this.procs[a]).filter((p) => !this.exited.has(p));
  }

  /** Sends `signal` to one instance and waits for it to exit. */
  async kill(app: ClusterApp, i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    return this.instance(app, i).stop(signal);
  }

  /** Starts a fresh instance in slot `i` (same environment, same groups) once the previous one has exited. */
  async restart(app: ClusterApp, i: number, timeoutMs = 90_000): Promise<ServiceProcess> {
    const old = this.procs[app][i];
    if (old) await old.kill();
    return this.boot(app, i, timeoutMs);
  }

  /** Produces raw gateway records to the cluster's raw-log topic (the Kafka source of ingest). */
  async produceRaw(records: { key: string | null; value: string }[]): Promise<void> {
    this.producer ??= new KafkaEventBus({ brokers: this.kafkaBrokers, clientId: uniqueName('e2e-shipper') });
    for (let i = 0; i < records.length; i += 2_000) await this.producer.publish(this.topics.VIGIL_RAW_LOGS_TOPIC, records.slice(i, i + 2_000));
  }

  /** Distinct stored access events, physical rows, and rows after FINAL in the cluster's database. */
  async eventCounts(): Promise<{ rows: number; ids: number; final: number }> {
    const [r] = await this.sql<{ rows: number; ids: number }>(`SELECT count() AS rows, uniqExact(id) AS ids FROM ${this.database}.access_events`);
    const [f] = await this.sql<{ n: number }>(`SELECT count() AS n FROM ${this.database}.access_events FINAL`);
    return { rows: Number(r?.rows ?? 0), ids: Number(r?.ids ?? 0), final: Number(f?.n ?? 0) };
  }

  /** Runs a read on the cluster's ClickHouse (the observer URL: never through a drill's proxy) and returns JSONEachRow rows. */
  async sql<T>(query: string): Promise<T[]> {
    return clickhouseRows<T>(this.observerUrl, query);
  }

  /** Lag and RSS of one instance, from its /metrics. */
  static async sample(proc: ServiceProcess): Promise<MetricsSample> {
    const text = await (await fetch(`${proc.url}/metrics`)).text();
    let lag = 0;
    let rssBytes = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('vigil_consumer_lag{')) lag += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      // default labels (service="…") may follow the name
      else if (line.startsWith('process_resident_memory_bytes ') || line.startsWith('process_resident_memory_bytes{')) rssBytes = Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
    return { lag, rssBytes };
  }

  /** Peak resident set (VmHWM) of a running instance, in bytes; null once it has exited. */
  static peakRss(proc: ServiceProcess): number | null {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** Log lines of every instance that ever ran, matching `filter`, tagged with the instance. */
  logLines(filter: (l: { level: string | number; msg: string; [k: string]: unknown }) => boolean = () => true): { who: string; msg: string; [k: string]: unknown }[] {
    return this.history.flatMap((p, n) => p.logs().filter(filter).map((l) => ({ who: `${p.app}#${n}`, ...l })));
  }

  /** Errors and fatals logged by any instance (pino level >= 50). */
  errors(): { who: string; msg: string }[] {
    return this.logLines((l) => Number(l.level) >= 50 || l.level === 'error' || l.level === 'fatal');
  }

  /** The last lines of every instance, for a failing test's message. */
  diagnostics(lines = 20): string {
    return this.history
      .map((p) => `--- ${p.app} pid ${p.pid} ---\n${p.stderr().slice(-2000)}\n${p.stdout().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** Writes every instance's stdout and stderr (the JSON logs) to `dir`, one file per process, for a post-mortem. */
  dumpLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const [n, p] of this.history.entries()) writeFileSync(join(dir, `${String(n).padStart(2, '0')}-${p.app}-${p.pid}.log`), `${p.stdout()}\n--- stderr ---\n${p.stderr()}`);
  }

  /** Each running instance's /metrics (consumer lag, late events, anomalies by detector...) next to its log. */
  async dumpMetrics(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    await Promise.all(
      this.all().map(async (p) => {
        const text = await fetch(`${p.url}/metrics`).then((r) => r.text(), (err: unknown) => `unreachable: ${String(err)}`);
        writeFileSync(join(dir, `${String(this.history.indexOf(p)).padStart(2, '0')}-${p.app}-${p.pid}.metrics`), text);
      }),
    );
  }

  /** Stops every instance (SIGTERM, then SIGKILL after 20 s), closes the producer, drops the database and Redis keys. */
  async stop(): Promise<void> {
    await Promise.allSettled(
      this.history.map(async (p) => {
        const timer = setTimeout(() => void p.kill(), 20_000);
        await p.stop('SIGTERM');
        clearTimeout(timer);
      }),
    );
    await this.producer?.close().catch(() => undefined);
    await postIdempotent(this.observerUrl, `DROP DATABASE IF EXISTS ${this.database}`).catch(() => undefined);
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } catch {
      // a drill's private Redis may already be gone
    } finally {
      redis.disconnect();
    }
  }

  private async boot(app: ClusterApp, i: number, timeoutMs = this.opts.bootTimeoutMs ?? 180_000): Promise<ServiceProcess> {
    const proc = await spawnService(app, this.env(app), timeoutMs);
    this.procs[app][i] = proc;
    this.history.push(proc);
    void proc.exited.then(() => this.exited.add(proc));
    return proc;
  }

  private keyRecords(): ApiKeyRecord[] {
    return (Object.keys(SCOPES) as KeyName[]).map((name) => {
      const t = newApiKeyToken();
      this.tokens[name] = t.token;
      return {
        id: t.id, tenant: this.tenant, name: `e2e-${name}`, hash: t.hash, prefix: t.prefix, scopes: SCOPES[name], role: name, allowedIps: [],
        createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0,
      } satisfies ApiKeyRecord;
    });
  }
}

/** The groups must have been settled this long (paceOnConsumers). */
const SETTLED_FOR_MS = 5_000;

/**
 * Partitions of a topic on the dev and CI mock: the shared `vigil.*` topics are created with the counts of
 * deploy/kafka/create-topics.sh (deploy/local/kafka.sh parses the same file); the suites' own topics are auto-created
 * with 4 on first use.
 */
const TOPIC_PARTITIONS: ReadonlyMap<string, number> = new Map(
  [...readFileSync(new URL('../../../deploy/kafka/create-topics.sh', import.meta.url), 'utf8').matchAll(/^(vigil\.\S+)\s+(\d+)\s/gm)].map((m) => [m[1]!, Number(m[2])]),
);
const AUTO_CREATED_PARTITIONS = 4;

type GroupLine = { level: string | number; msg: string; time?: unknown; groupId?: unknown; topic?: unknown; partitions?: unknown };

/** A consumer-group event an instance logs: the outcome of a join, or something that starts a new one. */
function groupEvent(l: GroupLine): 'assigned' | 'rejoining' | null {
  if (typeof l.groupId !== 'string') return null;
  if (l.msg === 'kafka partitions assigned') return 'assigned';
  if (l.msg.startsWith('kafkajs: The group is rebalancing') || l.msg.startsWith('kafka consumer stopped')) return 'rejoining';
  return null;
}

/**
 * Why the consumer groups of the running instances are not settled yet (null once they are): a member whose last
 * group event was a rebalance or a restart (its join is still pending; the mock can hold one for a session timeout,
 * logging nothing meanwhile), a group whose members' last assignments do not cover every partition exactly once
 * (a member that left is still counted until its session expires), or a group event newer than SETTLED_FOR_MS.
 */
export function unsettledGroups(members: readonly { who: string; lines: readonly GroupLine[] }[], now: number, partitionsOf: (topic: string) => number): string | null {
  const held = new Map<string, { topic: string; partitions: number[] }>();
  let newest = 0;
  for (const m of members) {
    const last = new Map<string, GroupLine>();
    for (const l of m.lines) if (groupEvent(l)) last.set(l.groupId as string, l);
    for (const [group, l] of last) {
      newest = Math.max(newest, Date.parse(String(l.time ?? '')) || 0);
      if (groupEvent(l) === 'rejoining') return `${m.who} is rejoining ${group}`;
      const ps = Array.isArray(l.partitions) ? (l.partitions as number[]) : [];
      const h = held.get(group) ?? { topic: String(l.topic), partitions: [] };
      held.set(group, { topic: h.topic, partitions: [...h.partitions, ...ps] });
    }
  }
  for (const [group, { topic, partitions }] of held) {
    const want = partitionsOf(topic);
    const sorted = [...partitions].sort((a, b) => a - b);
    if (sorted.length !== want || sorted.some((p, i) => p !== i)) return `${group} holds partitions [${sorted.join(',')}] of ${want}`;
  }
  return now - newest >= SETTLED_FOR_MS ? null : 'a group changed less than 5 s ago';
}

/**
 * Zero lag on every instance and settled consumer groups (unsettledGroups). The lag metric covers held partitions
 * only, and a member keeps reporting the partitions it held until its next join completes, so lag alone reads 0
 * while a group is rebalancing and nobody consumes; a replay that goes on producing then lets the partitions of the
 * stalled members fall minutes of event time behind the others (the re-key stage drops their partials as late).
 */
async function waitForSettledConsumers(c: Cluster, timeoutMs: number): Promise<void> {
  let why: string | null = 'not checked yet';
  const settled = waitFor(async () => {
    const live = c.all();
    const samples = await Promise.all(live.map((p) => Cluster.sample(p)));
    if (!samples.every((x) => x.lag === 0)) return ((why = 'consumer lag above 0'), false);
    const members = live.map((p, i) => ({ who: `${p.app}#${i}`, lines: p.logs() as GroupLine[] }));
    why = unsettledGroups(members, Date.now(), (t) => TOPIC_PARTITIONS.get(t) ?? AUTO_CREATED_PARTITIONS);
    return why === null;
  }, { timeoutMs, intervalMs: 200, what: 'zero consumer lag and settled consumer groups on every instance' });
  await settled.catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)} (last seen: ${why ?? 'settled'})`);
  });
}

export async function waitForNoLag(c: Cluster, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    const samples = await Promise.all(c.all().map((p) => Cluster.sample(p)));
    return samples.every((s) => s.lag === 0);
  }, { timeoutMs, intervalMs: 200, what: 'zero consumer lag on every instance' });
}

/** Allowed lateness the distributed suites give the detector (VIGIL_DETECTOR_LATENESS_MS). */
export const DETECTOR_LATENESS_MS = 60_000;

/**
 * Event time per replayed chunk: half the detector's lateness. A chunk is produced at once, so the raw partitions (and
 * after them the access-event partitions of the two detector instances) may each run up to a chunk ahead of the
 * others. The re-key stage closes a token's or endpoint's window on the newest partial of any source partition
 * minus the lateness, so partials of a source more than the lateness behind are dropped as late: with two-minute
 * warm-up chunks tokens learned baselines from a fraction of their requests and then alerted on their ordinary
 * rate (seen: "token made 58 requests in 1 min; expected 2.6") or on a usual IP their dropped partials had hidden
 * ("new country"). Chunks within the lateness are what a live shipper produces.
 */
export const REPLAY_CHUNK_MS = DETECTOR_LATENESS_MS / 2;

/** What a replay needs of a generated record (the traffic generator's GeneratedRecord). */
export interface ReplayRecord {
  raw: string;
  event: { ts: number; clientIp: string };
  label?: { id: string };
}

export interface ReplayOptions {
  /** Event time per produced chunk (default 60 s). */
  chunkMs?: number;
  /** Event time per chunk before this instant (the warm-up; default the same as chunkMs). */
  warmupChunkMs?: number;
  warmupEnd?: number;
  /**
   * Called after each chunk is produced, before the gate (a drill injects its fault here). Return false to skip the
   * gate for this chunk, so records pile up behind a fault.
   */
  onChunk?: (chunk: { index: number; endTs: number; produced: number }) => Promise<boolean | void> | boolean | void;
  /** Budget of one gate (a fault may hold the pipeline for a while). */
  gateTimeoutMs?: number;
  /**
   * Also wait, after each chunk, until every instance's consumer lag is 0 (the detectors and alerts have taken it) and
   * no group is rebalancing, as a live shipper's pace would. The dev Kafka mock keeps only ~5 MiB per partition: while a consumer group
   * rebalances (on the mock a rejoin can stall for a session timeout, 30 s, several times in a row) ingest would
   * otherwise keep producing chunks, the access-event partitions outgrow what the mock retains, and a detector that
   * restores a checkpoint finds its resume offset gone (seen once in CI: "offset out of range", a token theft missed).
   */
  paceOnConsumers?: boolean;
}

export interface ReplayResult {
  produced: number;
  /** Wall clock (Date.now()) at which the chunk holding event time `ts` was produced. */
  sentAt(ts: number): number;
  firstSentAt: number;
  lastStoredAt: number;
}

/**
 * Produces generated records to the raw topic in event-time chunks, keyed by client IP (one IP's requests stay in
 * order through every partitioned stage), and after each chunk waits until ingest has stored all of it. Two ingest
 * instances then never drift apart by more than one chunk of event time, which the detector's per-partition
 * watermark needs: an instance running minutes ahead would make the other one's events late.
 */
export async function replayRecords(c: Cluster, records: Iterable<ReplayRecord>, o: ReplayOptions = {}): Promise<ReplayResult> {
  const chunkMs = o.chunkMs ?? 60_000;
  const warmupChunkMs = o.warmupChunkMs ?? chunkMs;
  const sent: { endTs: number; at: number }[] = [];
  let produced = 0;
  let chunk: { key: string | null; value: string }[] = [];
  let chunkEnd: number | null = null;
  let index = 0;
  let firstSentAt = 0;
  const flush = async (): Promise<void> => {
    if (chunkEnd === null) return;
    if (chunk.length) await c.produceRaw(chunk);
    const at = Date.now();
    firstSentAt ||= at;
    produced += chunk.length;
    sent.push({ endTs: chunkEnd, at });
    chunk = [];
    const gate = await o.onChunk?.({ index: index++, endTs: chunkEnd, produced });
    if (gate === false) return;
    const want = produced;
    await waitFor(async () => (await c.eventCounts()).ids >= want, {
      timeoutMs: o.gateTimeoutMs ?? 60_000,
      intervalMs: 100,
      what: `ingest to store ${want} events`,
    });
    if (o.paceOnConsumers) await waitForSettledConsumers(c, o.gateTimeoutMs ?? 60_000);
  };
  for (const r of records) {
    if (chunkEnd === null || r.event.ts >= chunkEnd) {
      if (chunkEnd !== null) await flush();
      const len = o.warmupEnd !== undefined && r.event.ts < o.warmupEnd ? warmupChunkMs : chunkMs;
      chunkEnd = (chunkEnd ?? r.event.ts) + len;
      while (r.event.ts >= chunkEnd) chunkEnd += len;
    }
    chunk.push({ key: r.event.clientIp, value: r.raw });
  }
  await flush();
  return {
    produced,
    firstSentAt,
    lastStoredAt: Date.now(),
    sentAt: (ts) => (sent.find((s) => ts < s.endTs) ?? sent[sent.length - 1])?.at ?? 0,
  };
}

const MIN = 60_000;

/**
 * Attack classes the detector catches reliably on short generated runs (checked with the detector evaluation through
 * the Kong ingest parser: seed 7, 40 min warm-up, 10 req/s, 40 tokens, 400 IPs; all five in time, no false anomaly):
 * brute force, scanning (enumeration), injection, a volumetric flood on an endpoint, token theft.
 */
export const RELIABLE_ATTACKS: readonly AttackClass[] = ['brute_force', 'enumeration', 'injection', 'volumetric_flood', 'token_theft'];

export interface Scenario {
  plan: TrafficPlan;
  labels: AttackLabel[];
  warmupEnd: number;
  /** Entities the attacks' own requests touched (`type\0entity`): the only ones an incident may name. */
  touched: Set<string>;
  records(): Iterable<GeneratedRecord>;
}

/**
 * The generated run every distributed test replays: `minutes` of Kong traffic ending now (incidents auto-resolve 30
 * quiet minutes after their last anomaly, so replayed event time must be recent), the warm-up first, then the attacks.
 *
 * The rate is flat (no day/night curve), so the run is the same whatever the hour: it used to follow the diurnal
 * curve of the hour it ran at, and between about 00:00 and 06:00 UTC the stolen token had only 29–30 active windows
 * of history before the attack (the detector wants 30 before a location counts as new), so token theft showed up as
 * a rate spike alone and the suite failed at night (in CI, and 22 of 50 start times scanned from 23:00 to 06:50 UTC).
 * Flat, the token has 48 active windows at every start time.
 */
export function attackScenario(o: { minutes?: number; warmupMinutes?: number; rps?: number; seed?: number; attacks?: readonly AttackClass[] } = {}): Scenario {
  const minutes = o.minutes ?? 60;
  const warmupMs = (o.warmupMinutes ?? 40) * MIN;
  const start = Math.floor(Date.now() / MIN) * MIN - minutes * MIN;
  const plan = new TrafficPlan({
    seed: o.seed ?? 7, start, durationMs: minutes * MIN, warmupMs, rps: o.rps ?? 10, tokenCount: 40, ipCount: 400, format: 'kong',
    attacks: o.attacks ?? RELIABLE_ATTACKS, diurnal: false,
  });
  const touched = new Set<string>();
  for (const r of plan.records()) {
    if (!r.label) continue;
    const e = r.event;
    touched.add(`ip\0${e.clientIp}`);
    if (e.tokenId) touched.add(`token\0${e.tokenId}`);
    touched.add(`endpoint\0${e.method} ${e.route}`);
  }
  for (const l of plan.labels) touched.add(`${l.entityType}\0${l.entity}`);
  touched.add('tenant\0*');
  return { plan, labels: plan.labels, warmupEnd: start + warmupMs, touched, records: () => plan.records() };
}

/** Two socket.io clients (one per alert instance, or both on the only one) and two webhook receivers. */
export interface Observers {
  sockets: AlertsConnection[];
  receivers: WebhookReceiver[];
  secrets: string[];
  close(): Promise<void>;
}

export async function observe(c: Cluster, answer?: (attemptOfId: number) => number): Promise<Observers> {
  const alerts = c.instances('alert');
  const receivers = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start()]);
  const secrets: string[] = [];
  for (const [i, r] of receivers.entries()) {
    const url = r.script('/hook', (attemptOfId) => ({ status: answer ? answer(attemptOfId) : 204 }));
    const base = alerts[i % alerts.length]!.url;
    const res = await fetch(`${base}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.tokens.integrator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['incident.opened'] }),
    });
    if (res.status !== 201) throw new Error(`subscribing a webhook: ${res.status} ${await res.text()}`);
    secrets.push(((await res.json()) as { secret: string }).secret);
  }
  const sockets = [0, 1].map((i) => connectAlerts(alerts[i % alerts.length]!.url, c.tokens.reader));
  for (const s of sockets) {
    const ack = await s.subscribe({});
    if (!('ok' in ack) || !ack.ok) throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
  }
  return {
    sockets,
    receivers,
    secrets,
    close: async () => {
      for (const s of sockets) s.close();
      await Promise.all(receivers.map((r) => r.close()));
    },
  };
}

/** Incident ids as each observer saw them opened: per socket client, and per webhook receiver (accepted deliveries). */
export function openedIds(o: Observers): { sockets: string[][]; webhooks: string[][] } {
  return {
    sockets: o.sockets.map((s) => s.received.filter((r) => r.type === 'incident.opened').map((r) => r.incident!.id)),
    webhooks: o.receivers.map((r) =>
      r.arrivals.filter((w) => w.answered >= 200 && w.answered < 300).map((w) => WebhookPayloadV1.parse(JSON.parse(w.body)).data.incident.id),
    ),
  };
}

/** Waits until every attack's entity has an opened incident on every socket client and every receiver. */
export async function waitForAttackIncidents(o: Observers, labels: readonly AttackLabel[], timeoutMs = 180_000): Promise<void> {
  const missing = (): string[] => {
    const out: string[] = [];
    for (const l of labels) {
      for (const [i, s] of o.sockets.entries()) {
        if (!s.received.some((r) => r.type === 'incident.opened' && r.incident?.entityType === l.entityType && r.incident.entity === l.entity)) out.push(`${l.id} on socket ${i}`);
      }
      for (const [i, r] of o.receivers.entries()) {
        const seen = r.arrivals.some((w) => {
          if (w.answered < 200 || w.answered >= 300) return false;
          const inc = WebhookPayloadV1.parse(JSON.parse(w.body)).data.incident;
          return inc.entityType === l.entityType && inc.entity === l.entity;
        });
        if (!seen) out.push(`${l.id} on webhook ${i}`);
      }
    }
    return out;
  };
  try {
    await waitFor(() => missing().length === 0, { timeoutMs, intervalMs: 250, what: 'an incident for every attack on every observer' });
  } catch (e) {
    throw new Error(`${(e as Error).message}; missing: ${missing().join(', ')}`);
  }
}

/** Incidents (as socket client 0 saw them opened) on an IP, token or endpoint that no attack's request touched. */
export function falseIncidents(o: Observers, s: Scenario): string[] {
  return o.sockets[0]!.received
    .filter((r) => r.type === 'incident.opened')
    .map((r) => r.incident!)
    .filter((i) => i.entityType !== 'tenant' && !s.touched.has(`${i.entityType}\0${i.entity}`))
    .map((i) => `${i.entityType} ${i.entity}: ${i.detectors.join(',')}`);
}

/**
 * What "exactly once" means to a user, per observer: every attack has exactly one opened incident naming its entity;
 * no incident is opened twice; every observer saw the same incidents; no anomaly reached a client twice. Returns a summary for a toEqual with readable diffs.
 */
export function exactlyOnceReport(o: Observers, s: Scenario): Record<string, unknown> {
  const { sockets, webhooks } = openedIds(o);
  const dup = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  const perAttack = s.labels.map((l) => {
    const counts = [
      ...o.sockets.map((so) => so.received.filter((r) => r.type === 'incident.opened' && r.incident?.entityType === l.entityType && r.incident.entity === l.entity).length),
      ...o.receivers.map((r) => r.arrivals.filter((w) => w.answered >= 200 && w.answered < 300).map((w) => WebhookPayloadV1.parse(JSON.parse(w.body)).data.incident).filter((i) => i.entityType === l.entityType && i.entity === l.entity).length),
    ];
    return `${l.class}: ${counts.join(',')}`;
  });
  const all = [...sockets, ...webhooks].map((ids) => [...new Set(ids)].sort().join(' '));
  const anomalyDups = o.sockets.map((so) => dup(so.received.filter((r) => r.type === 'anomaly.detected').map((r) => r.anomaly!.id)));
  return {
    perAttack,
    duplicateOpened: [...sockets, ...webhooks].map(dup),
    sameIncidentsEverywhere: all.every((x) => x === all[0]),
    duplicateAnomalies: anomalyDups,
  };
}

/** The report a run with no loss and no duplicate produces. */
export function cleanReport(s: Scenario): Record<string, unknown> {
  return {
    perAttack: s.labels.map((l) => `${l.class}: 1,1,1,1`),
    duplicateOpened: [[], [], [], []],
    sameIncidentsEverywhere: true,
    duplicateAnomalies: [[], []],
  };
}

/** Detectors of the anomalies of the incident opened for one entity, read over REST from the stored incident. */
/**
 * For each attack label, `true` when its incident holds an anomaly of the expected detector, else a sentence naming the
 * detectors the incident did hold (or that no incident opened), so a failing comparison says which attack missed and why.
 */
export async function expectedDetectorReport(c: Cluster, o: Observers, labels: readonly AttackLabel[]): Promise<[string, true | string][]> {
  return Promise.all(
    labels.map(async (l): Promise<[string, true | string]> => {
      const detectors = await incidentDetectors(c, o, l.entityType, l.entity);
      if (detectors.includes(l.expectedDetector)) return [l.class, true];
      return [l.class, detectors.length ? `no ${l.expectedDetector} among [${detectors.join(', ')}]` : `no incident opened on ${l.entityType} ${l.entity}`];
    }),
  );
}

export async function incidentDetectors(c: Cluster, o: Observers, entityType: string, entity: string): Promise<string[]> {
  const opened = o.sockets[0]!.received.find((r) => r.type === 'incident.opened' && r.incident?.entityType === entityType && r.incident.entity === entity);
  if (!opened) return [];
  const res = await fetch(`${c.instance('alert', 0).url}/v1/incidents/${opened.incident!.id}`, { headers: { authorization: `Bearer ${c.tokens.reader}` } });
  if (!res.ok) throw new Error(`GET incident ${opened.incident!.id}: ${res.status}`);
  const body = (await res.json()) as { anomalies: { detector: string }[] };
  return [...new Set(body.anomalies.map((a) => a.detector))];
}
