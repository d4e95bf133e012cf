/**
 * Ingest end to end: raw gateway records on Kafka → raw-log consumer → parse/normalise → ClickHouse insert → publish.
 *
 *   npx tsx scripts/bench/ingest-e2e.ts [--records 300000] [--producer backlog|concurrent] [--batch-max-events 5000]
 *                                       [--raw-partitions 128] [--produce-set 2000]            (backlog)
 *                                       [--max-lag 8000] [--produce-chunk 8000] [--produce-inflight 1] (concurrent)
 *                                       [--private-clickhouse yes] [--envelopes no]
 *
 * Needs the built workspaces (`npx tsc -b`; `npm run bench:ingest` does it). Infrastructure: KAFKA_BROKERS and
 * CLICKHOUSE_URL, else VIGIL_TEST_KAFKA_BROKERS and VIGIL_TEST_CLICKHOUSE_URL, else `.infra/endpoints.env`, else it
 * runs `deploy/local/up.sh` and reads that file.
 *
 * The consumer and the ClickHouse store run in this process, as in the ingest service, against a fresh raw topic and a
 * fresh database. Records (six gateway formats in rotation, ~1 KB, every one a distinct request) are produced by a
 * child process (so its CPU is not counted as ingest's). Two modes:
 *
 * - `--producer backlog` (the default): the load generator is not part of the system under test (gateways produce
 *   from other machines), so every record is produced before ingest starts, and ingest then drains that backlog into
 *   ClickHouse (the method of kafka-consumer-perf-test). The shared Kafka mock cannot create a topic with many
 *   partitions (no CreateTopics API; auto-created topics get 4) and keeps only ~5 MiB per partition, so this mode runs
 *   a Kafka mock of its own (test/fixtures/private-kafka.ts) with the raw topic created at --raw-partitions (128:
 *   up to 4,000 records, 3.7 MB, on one for 300k records). Before ingest starts it checks that every partition still
 *   holds its records from offset 0 and that they add up to --records, and fails otherwise. The mock serves one record
 *   batch per partition per fetch (a real broker fills a fetch up to the consumer's byte limits, 10 MiB per partition
 *   for ingest's 5,000-message batches), so records go to partitions in runs of --produce-set (one record batch of
 *   that many records per partition per send): 2,000 makes ingest's merged batches 4,000 records, as in the
 *   concurrent mode and earlier rounds (1,000 gives 3,000-5,000).
 * - `--producer concurrent`: the child produces while ingest consumes, on the shared broker, never more than
 *   --max-lag records ahead of what is stored (the shared mock's ~5 MiB per partition would truncate an unbounded
 *   backlog); its CPU then competes with ingest's on the same cores.
 *
 * Either way the run fails unless ClickHouse ends up holding every produced record, as an event or a dead letter
 * (distinct ids in access_events + dead_letters == --records). Published access events go to a topic of the run's
 * own instead of the shared `vigil.access-events`, so a benchmark does not flood it. Access events are published as
 * envelopes per partition (libs/contracts access-event-envelope.ts), grouped by that topic's partition count;
 * `--envelopes no` publishes one event per message, as ingest does when it does not know the partition count.
 *
 * Prints which mode ran, events/s end to end (backlog: ingest started → last stored, the consumer group's join
 * included; concurrent: first record produced → last one stored), the consumer's own rate (first batch start → last
 * batch stored), p50/p99 of the time to ingest one batch, the batch sizes, the peak RSS, and CPU: this process
 * (the ingest pipeline alone; the part of it spent parsing and normalising shown on its own) and the ClickHouse server
 * (found by its HTTP port in /proc; other users of that server count too), in CPU-seconds and µs per event. On a
 * shared, loaded machine compare CPU per event, not only events/s. `--private-clickhouse yes` runs a ClickHouse of the
 * run's own (test/fixtures/private-clickhouse.ts, same binary and config as deploy/local) so that its CPU is this
 * run's inserts and merges alone.
 *
 * The producer child's CPU is printed too (in concurrent mode it runs on the same cores as ingest, and the ingest,
 * ClickHouse, broker and producer CPU per event together bound the events/s a 2-core machine can reach). It generates
 * every record before it starts the clock and sends them as Buffers from a plain kafkajs producer, --produce-chunk
 * records per send and up to --produce-inflight sends at once. Smaller sends cost it less (kafkajs's grouping is
 * quadratic in a send's messages per partition) but the consumer then fetches, and ClickHouse inserts, smaller
 * batches, which costs ClickHouse more per row: 8000 / 1 keeps the batches of earlier rounds (4,000 records) for
 * comparison. The Kafka mock's CPU is printed as well (the shared one: the whole process, other engineers' runs
 * against it count too).
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { TOPICS } from '@vigil/contracts';
import { IngestRecords, type IngestOptions, type ParsedBatch, type RawRecord } from '@vigil/ingest/usecases/ingest-records/ingest-records.usecase';
import { partitionCountsFor, type TopicPartitionCounts } from '@vigil/ingest/usecases/ingest-records/topic-partitions';
import kafkajs from 'kafkajs';
import { type EventBus, type OutboundMessage } from '@vigil/platform';
import { bulkRecord } from '../../test/fixtures/gateway-records.js';
import { clickhouseCommand, clickhouseRows } from '../../test/fixtures/ingest-harness.js';
import { startIngestPipeline } from '../../test/fixtures/ingest-pipeline.js';
import { startPrivateClickHouse, type PrivateClickHouse } from '../../test/fixtures/private-clickhouse.js';
import { PrivateKafka } from '../../test/fixtures/private-kafka.js';
import { clickhousePid, cpuSecondsOf, kafkaMockPid } from './proc.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const RECORDS = Number(args.get('records') ?? 300_000);
const MAX_LAG = Number(args.get('max-lag') ?? 8_000);
const BATCH_MAX_EVENTS = args.get('batch-max-events') ?? '5000';
const PRODUCE_CHUNK = Number(args.get('produce-chunk') ?? 8_000);
const PRODUCE_INFLIGHT = Number(args.get('produce-inflight') ?? 1);
const PRIVATE_CLICKHOUSE = args.get('private-clickhouse') === 'yes';
const ENVELOPES = args.get('envelopes') !== 'no';
const PRODUCER_MODE = args.get('producer') ?? 'backlog';
if (PRODUCER_MODE !== 'backlog' && PRODUCER_MODE !== 'concurrent') throw new Error(`--producer backlog|concurrent, got '${PRODUCER_MODE}'`);
const BACKLOG = PRODUCER_MODE === 'backlog';
const RAW_PARTITIONS = Number(args.get('raw-partitions') ?? 128);
const PRODUCE_SET = Number(args.get('produce-set') ?? 2_000);
const TARGET_BYTES = 1_000;

const REPO = resolve(import.meta.dirname, '../..');
const SELF = fileURLToPath(import.meta.url);

/** Wall-clock time with sub-millisecond resolution, comparable across processes on one machine. */
const wallNow = (): number => performance.timeOrigin + performance.now();

interface Endpoints {
  kafka: string;
  clickhouse: string;
  /** Stops what this run started with deploy/local/up.sh (unless another test run holds a lease on it). */
  release(): void;
}

/**
 * The broker and ClickHouse to use. When it has to start them, it takes a lease in `.infra/leases` the way
 * scripts/test.mjs does, and stops what it started at the end unless another run still holds a lease.
 */
function endpoints(): Endpoints {
  const fromEnv = (k: string, c: string) => (process.env[k] && process.env[c] ? { kafka: process.env[k]!, clickhouse: process.env[c]!, release: () => undefined } : null);
  const given = fromEnv('KAFKA_BROKERS', 'CLICKHOUSE_URL') ?? fromEnv('VIGIL_TEST_KAFKA_BROKERS', 'VIGIL_TEST_CLICKHOUSE_URL');
  if (given) return given;
  const leases = join(REPO, '.infra', 'leases');
  mkdirSync(leases, { recursive: true });
  const lease = join(leases, String(process.pid));
  writeFileSync(lease, `${new Date().toISOString()} scripts/bench/ingest-e2e.ts\n`);
  console.error('no KAFKA_BROKERS / CLICKHOUSE_URL given: deploy/local/up.sh');
  const out = execFileSync('bash', [join(REPO, 'deploy/local/up.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = new Map([...out.matchAll(/^(VIGIL_TEST_[A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const));
  const started = (/^STARTED:(.*)$/m.exec(out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  return {
    kafka: vars.get('VIGIL_TEST_KAFKA_BROKERS') ?? '',
    clickhouse: vars.get('VIGIL_TEST_CLICKHOUSE_URL') ?? '',
    release: () => {
      rmSync(lease, { force: true });
      const others = readdirSync(leases).filter((pid) => {
        try {
          process.kill(Number(pid), 0);
          return true;
        } catch {
          return false;
        }
      });
      if (started.length === 0) return;
      if (others.length) console.error(`leaving ${started.join(', ')} running: runs ${others.join(', ')} hold leases`);
      else execFileSync('bash', [join(REPO, 'deploy/local/down.sh'), ...started], { stdio: 'inherit' });
    },
  };
}

/**
 * Publishes `from` topics under other names (the access events of this run go to a topic of its own), and tells ingest
 * the partition count of the topic it really publishes to (null, one event per message, without `partitions`).
 */
class RenamingBus implements EventBus, TopicPartitionCounts {
  readonly kind: EventBus['kind'];
  /** Time spent in publish, ms (for the breakdown). */
  publishMs = 0;
  constructor(
    private readonly inner: EventBus,
    private readonly rename: Record<string, string>,
    private readonly partitions: TopicPartitionCounts | null,
  ) {
    this.kind = inner.kind;
  }
  partitionCount(topic: string): Promise<number | null> {
    return this.partitions ? this.partitions.partitionCount(this.rename[topic] ?? topic) : Promise.resolve(null);
  }
  /** Messages published per (renamed) topic. */
  readonly messages = new Map<string, number>();
  async publish(topic: string, messages: OutboundMessage[]): Promise<void> {
    const to = this.rename[topic] ?? topic;
    this.messages.set(to, (this.messages.get(to) ?? 0) + messages.length);
    const t0 = performance.now();
    try {
      await this.inner.publish(this.rename[topic] ?? topic, messages);
    } finally {
      this.publishMs += performance.now() - t0;
    }
  }
  subscribe(...a: Parameters<EventBus['subscribe']>) {
    return this.inner.subscribe(...a);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

/** Pad JSON records with a trace field to ~1 KB, as gateways that log a few extra headers do. */
function sized(raw: string): string {
  if (raw[0] !== '{' || raw.length >= TARGET_BYTES) return raw;
  const pad = 'f'.repeat(Math.max(0, TARGET_BYTES - raw.length - 20));
  return `${raw.slice(0, -1)},"x_trace":"${pad}"}`;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;


interface ProduceCommand {
  kind: 'produce';
  kafka: string;
  topic: string;
  records: number;
  maxLag: number;
  chunk: number;
  inflight: number;
  /** Backlog mode: records i·set … (i+1)·set − 1 go to partition i mod `partitions` (null: kafkajs's partitioner). */
  placement: { partitions: number; set: number } | null;
}
type ToProducer = ProduceCommand | { kind: 'stored'; stored: number };
type FromProducer = { kind: 'started'; at: number } | { kind: 'produced'; at: number; bytes: number; waitMs: number; sendWaitMs: number; cpuUs: number };

/**
 * The producer child: produces `records` raw records, never more than `maxLag` ahead of what the parent has stored.
 * It stands in for the gateways, so it is made cheap: the records are generated (as Buffers, outside the heap) before
 * it reports 'started', and they go out through a plain kafkajs producer in chunks of `chunk` records, up to
 * `inflight` sends at once (kafkajs groups a send's messages per partition by copying the group's array once per
 * message, and grows its request buffer by doubling: 8,000-record sends cost it ~49 µs of CPU per record).
 */
async function producerRole(): Promise<void> {
  let stored = 0;
  const send = (m: FromProducer) => process.send?.(m);
  const command = await new Promise<ProduceCommand>((resolveCommand) => {
    process.on('message', (m: ToProducer) => {
      if (m.kind === 'stored') stored = m.stored;
      else resolveCommand(m);
    });
  });
  const base = Date.now() - 120_000;
  let bytes = 0;
  const values = new Array<Buffer>(command.records);
  for (let i = 0; i < command.records; i++) {
    values[i] = Buffer.from(sized(bulkRecord(i, base).raw));
    bytes += values[i]!.length;
  }
  const kafka = new kafkajs.Kafka({ brokers: command.kafka.split(','), clientId: `bench-ingest-producer-${process.pid}`, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    let produced = 0;
    let waitMs = 0;
    let sendWaitMs = 0;
    const inFlight = new Set<Promise<unknown>>();
    let failed: unknown = null;
    const cpu0 = process.cpuUsage();
    send({ kind: 'started', at: wallNow() });
    while (produced < command.records) {
      const n = Math.min(command.chunk, command.records - produced);
      while (inFlight.size >= command.inflight) {
        const w = performance.now();
        await Promise.race(inFlight);
        sendWaitMs += performance.now() - w;
      }
      while (produced - stored > command.maxLag) {
        const w = performance.now();
        await new Promise((r) => setTimeout(r, 5));
        waitMs += performance.now() - w;
      }
      if (failed) throw failed;
      const at = produced;
      const place = command.placement;
      const messages = values
        .slice(produced, produced + n)
        .map((value, j) => (place ? { key: null, value, partition: Math.floor((at + j) / place.set) % place.partitions } : { key: null, value }));
      const sent: Promise<unknown> = producer
        .send({ topic: command.topic, acks: -1, messages })
        .catch((err: unknown) => (failed = err))
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      produced += n;
    }
    await Promise.all(inFlight);
    if (failed) throw failed;
    const cpu = process.cpuUsage(cpu0);
    send({ kind: 'produced', at: wallNow(), bytes, waitMs, sendWaitMs, cpuUs: cpu.user + cpu.system });
  } finally {
    await producer.disconnect();
  }
  process.disconnect?.();
}

async function main(): Promise<void> {
  const shared = endpoints();
  const { release } = shared;
  let privateCh: PrivateClickHouse | null = null;
  let privateKafka: PrivateKafka | null = null;
  const run = `${Date.now().toString(36)}_${process.pid}`;
  const database = `bench_ingest_${run}`;
  const rawTopic = `bench-ingest-raw-${run}`;
  const eventsTopic = `bench-ingest-events-${run}`;
  if (PRIVATE_CLICKHOUSE) privateCh = await startPrivateClickHouse('bench-ingest');
  // The shared mock has no CreateTopics API and auto-creates 4 partitions of ~5 MiB each: a backlog of 300k ~1 KB
  // records needs a raw topic created with many partitions, so backlog mode runs a Kafka mock of its own.
  if (BACKLOG) privateKafka = await PrivateKafka.start({ brokers: 1, topics: { [rawTopic]: RAW_PARTITIONS } });
  const kafka = privateKafka?.brokers.join(',') ?? shared.kafka;
  const clickhouse = privateCh?.url ?? shared.clickhouse;
  console.log(
    `ingest e2e benchmark: ${RECORDS} records, producer ${BACKLOG ? `backlog (all records produced before ingest starts, then drained; a private Kafka mock, raw topic of ${RAW_PARTITIONS} partitions, ${PRODUCE_SET} records per partition per send)` : `concurrent (a child process producing while ingest consumes, max lag ${MAX_LAG})`}, broker ${kafka}, ClickHouse ${clickhouse}, batch max ${BATCH_MAX_EVENTS}, access events ${ENVELOPES ? 'in envelopes per partition' : 'one per message'}`,
  );

  const batchMs: number[] = [];
  const batchSizes: number[] = [];
  let stored = 0;
  let accepted = 0;
  let rejected = 0;
  let firstBatchAt = 0;
  let lastStoredAt = 0;
  let parseMs = 0;
  let parseCpuUs = 0;
  let persistMs = 0;
  let cpuAtFirstBatch: NodeJS.CpuUsage | null = null;
  let chCpuAtFirstBatch = NaN;
  let brokerCpuAtFirstBatch = NaN;
  const brokerPid = kafkaMockPid(kafka);
  const chPid = privateCh ? privateCh.pid() : clickhousePid(clickhouse);
  let producerChild: ReturnType<typeof fork> | null = null;
  class TimedIngest extends IngestRecords {
    override parse(records: readonly RawRecord[], options: IngestOptions): ParsedBatch {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const batch = super.parse(records, options);
      const c = process.cpuUsage(c0);
      parseCpuUs += c.user + c.system;
      parseMs += performance.now() - t0;
      return batch;
    }
    override async persist(batch: ParsedBatch): Promise<void> {
      const t0 = performance.now();
      await super.persist(batch);
      persistMs += performance.now() - t0;
    }
    override async execute(records: readonly RawRecord[], options: IngestOptions): Promise<ParsedBatch> {
      const t0 = wallNow();
      if (firstBatchAt === 0) {
        firstBatchAt = t0;
        cpuAtFirstBatch = process.cpuUsage();
        chCpuAtFirstBatch = chPid === null ? NaN : cpuSecondsOf(chPid);
        brokerCpuAtFirstBatch = brokerPid === null ? NaN : cpuSecondsOf(brokerPid);
      }
      const batch = await super.execute(records, options);
      lastStoredAt = wallNow();
      batchMs.push(lastStoredAt - t0);
      batchSizes.push(records.length);
      stored += records.length;
      accepted += batch.events.length;
      rejected += batch.deadLetters.length;
      // a child that already exited is reported by its exit handler; a failed send needs no other handling
      if (producerChild?.connected) producerChild.send({ kind: 'stored', stored } satisfies ToProducer, () => undefined);
      return batch;
    }
  }

  let renaming: RenamingBus | undefined;
  let peakRss = 0;
  let pipeline: Awaited<ReturnType<typeof startIngestPipeline>> | null = null;
  const startPipeline = async () =>
    (pipeline = await startIngestPipeline(
      {
        VIGIL_MODE: 'distributed',
        KAFKA_BROKERS: kafka,
        KAFKA_CLIENT_ID: `bench-ingest-${run}`,
        KAFKA_GROUP_PREFIX: `bench-ingest-${run}`,
        CLICKHOUSE_URL: clickhouse,
        CLICKHOUSE_DATABASE: database,
        REDIS_URL: 'redis://127.0.0.1:1', // not used by ingest; required by the distributed-mode config check
        VIGIL_HASH_KEY: 'bench-ingest-hash-key-0123456789',
        VIGIL_TENANT: 'bench',
        VIGIL_RAW_LOGS_TOPIC: rawTopic,
        VIGIL_DLQ_TOPIC: `bench-ingest-dlq-${run}`,
        VIGIL_INGEST_BATCH_MAX_EVENTS: BATCH_MAX_EVENTS,
        LOG_LEVEL: 'warn',
      },
      {
        publishVia: (bus) =>
          (renaming = new RenamingBus(bus, { [TOPICS.accessEvents]: eventsTopic }, ENVELOPES ? partitionCountsFor(bus) : null)),
        makeIngest: (s, b, c, cfg, m) => new TimedIngest(s, b, c, cfg, m),
      },
    ));
  // memoryUsage.rss() alone: memoryUsage() also walks the V8 heap spaces (258 ms of main-thread time in a 300k-event profile)
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  let child: ReturnType<typeof fork> | null = null;
  try {
    // concurrent: ingest first, then the producer; backlog: the producer alone, then ingest on the full topic
    if (!BACKLOG) await startPipeline();
    child = fork(SELF, ['--role', 'producer'], { cwd: REPO, execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    producerChild = child;
    let t0 = NaN;
    let produced: Extract<FromProducer, { kind: 'produced' }> | null = null;
    let childError: Error | null = null;
    child.on('message', (m: FromProducer) => {
      if (m.kind === 'started') t0 = m.at;
      else produced = m;
    });
    child.on('error', (err) => (childError = err));
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) childError = new Error(`the producer exited with code ${code}`);
    });
    child.send({
      kind: 'produce',
      kafka,
      topic: rawTopic,
      records: RECORDS,
      maxLag: BACKLOG ? RECORDS : MAX_LAG, // never holds back: the whole backlog is produced first
      chunk: PRODUCE_CHUNK,
      inflight: PRODUCE_INFLIGHT,
      placement: BACKLOG ? { partitions: RAW_PARTITIONS, set: PRODUCE_SET } : null,
    } satisfies ToProducer);
    let backlogAt = NaN;
    if (BACKLOG) {
      while (produced === null) {
        if (childError) throw childError;
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => child!.exitCode !== null, 10_000);
      await checkBacklog(kafka, rawTopic, RECORDS);
      backlogAt = wallNow();
      await startPipeline();
    }
    const p0 = pipeline as Awaited<ReturnType<typeof startIngestPipeline>> | null;
    let progress = { stored, at: Date.now() };
    while (stored < RECORDS) {
      if (childError) throw childError;
      // the stall clock starts when the producer has started (a loaded machine may take many seconds to start it)
      if (stored !== progress.stored || Number.isNaN(t0)) progress = { stored, at: Date.now() };
      // before the first batch the consumer group is still joining (on the mock that can take a session timeout or two)
      const stallMs = firstBatchAt === 0 ? 120_000 : 30_000;
      if (Date.now() - progress.at > stallMs) {
        for (const l of p0?.lines.slice(-20) ?? []) console.error(JSON.stringify(l));
        throw new Error(
          `stuck at ${stored} of ${RECORDS} records stored for ${stallMs / 1000} s: ${BACKLOG ? 'the consumer stopped' : "records were probably dropped by the broker's retention (lower --max-lag or --produce-chunk)"}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const cpu = process.cpuUsage(cpuAtFirstBatch ?? undefined);
    const chCpu = chPid === null ? NaN : cpuSecondsOf(chPid) - chCpuAtFirstBatch;
    const brokerCpu = brokerPid === null ? NaN : cpuSecondsOf(brokerPid) - brokerCpuAtFirstBatch;
    await until(() => produced !== null, 10_000);
    const p = produced as Extract<FromProducer, { kind: 'produced' }> | null;
    const seconds = (lastStoredAt - (BACKLOG ? backlogAt : t0)) / 1000;
    const consumerSeconds = (lastStoredAt - firstBatchAt) / 1000;
    const ingestCpuS = (cpu.user + cpu.system) / 1e6;
    const [ch] = await clickhouseRows<{ ids: number }>(clickhouse, `SELECT uniqExact(id) AS ids FROM ${database}.access_events`);
    const [dl] = await clickhouseRows<{ ids: number }>(clickhouse, `SELECT uniqExact(id) AS ids FROM ${database}.dead_letters`);
    const sortedMs = [...batchMs].sort((a, b) => a - b);
    const sortedSizes = [...batchSizes].sort((a, b) => a - b);
    const rss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    const perEvent = (s: number) => `${((s / RECORDS) * 1e6).toFixed(0)} µs/event`;
    console.log(
      [
        `mode             ${BACKLOG ? `backlog drain (${RECORDS} records on ${RAW_PARTITIONS} partitions before ingest started)` : 'concurrent producer'}`,
        `records          ${RECORDS} (${p ? (p.bytes / RECORDS).toFixed(0) : '?'} B average, ${p ? (p.bytes / 1024 / 1024).toFixed(1) : '?'} MiB)`,
        `accepted         ${accepted}, dead-lettered ${rejected}; distinct ids in ClickHouse: access_events ${ch?.ids}, dead_letters ${dl?.ids}`,
        BACKLOG
          ? `end to end       ${(RECORDS / seconds).toFixed(0)} events/s (${seconds.toFixed(2)} s, ingest started on the backlog → last stored; group join included)`
          : `end to end       ${(RECORDS / seconds).toFixed(0)} events/s (${seconds.toFixed(2)} s, first produced → last stored)`,
        `consumer         ${(RECORDS / consumerSeconds).toFixed(0)} events/s (${consumerSeconds.toFixed(2)} s, first batch → last stored)`,
        `producer         ${p ? `done after ${((p.at - t0) / 1000).toFixed(2)} s, ${(p.waitMs / 1000).toFixed(2)} s of it held back by the lag bound, ${(p.sendWaitMs / 1000).toFixed(2)} s waiting for its sends (--produce-inflight)` : 'no report'}`,
        `batches          ${batchMs.length}; size p50 ${quantile(sortedSizes, 0.5)}, max ${sortedSizes[sortedSizes.length - 1]}`,
        `batch latency    p50 ${quantile(sortedMs, 0.5).toFixed(1)} ms, p99 ${quantile(sortedMs, 0.99).toFixed(1)} ms, max ${sortedMs[sortedMs.length - 1]?.toFixed(1)} ms`,
        `access events    ${renaming?.messages.get(eventsTopic) ?? 0} messages on the events topic (${ENVELOPES ? 'envelopes per partition' : 'one event per message'})`,
        `time in batches  parse ${(parseMs / 1000).toFixed(2)} s, store ${((persistMs - (renaming?.publishMs ?? 0)) / 1000).toFixed(2)} s, publish ${((renaming?.publishMs ?? 0) / 1000).toFixed(2)} s (wall, summed over concurrent batches)`,
        `CPU ingest       ${ingestCpuS.toFixed(2)} s (${perEvent(ingestCpuS)}; ${(ingestCpuS / consumerSeconds).toFixed(2)} cores busy)`,
        `  of it parse    ${(parseCpuUs / 1e6).toFixed(2)} s (${perEvent(parseCpuUs / 1e6)}; the rest, consume + store + publish: ${perEvent(ingestCpuS - parseCpuUs / 1e6)})`,
        `CPU producer     ${p ? `${(p.cpuUs / 1e6).toFixed(2)} s (${perEvent(p.cpuUs / 1e6)}; the bench's load generator, a child process: not ingest's${BACKLOG ? ', and done before ingest started' : ', but on the same cores'})` : 'no report'}`,
        `CPU ClickHouse   ${Number.isFinite(chCpu) ? `${chCpu.toFixed(2)} s (${perEvent(chCpu)}; ${privateCh ? 'a server of this run alone' : 'whole server, other users included'})` : 'n/a (server not local)'}`,
        `CPU broker       ${Number.isFinite(brokerCpu) ? `${brokerCpu.toFixed(2)} s (${perEvent(brokerCpu)}; ${privateKafka ? 'a Kafka mock of this run alone' : 'the local Kafka mock, whole process: other users of it count too'})` : 'n/a (not the local Kafka mock)'}`,
        `machine          load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`,
        `peak RSS         ${(rss / 1024 / 1024).toFixed(0)} MiB`,
      ].join('\n'),
    );
    if (Number(ch?.ids) !== accepted) throw new Error(`ClickHouse holds ${ch?.ids} distinct events, expected ${accepted}`);
    if (Number(ch?.ids) + Number(dl?.ids) !== RECORDS) {
      throw new Error(`${RECORDS} records produced, but ClickHouse holds ${ch?.ids} events + ${dl?.ids} dead letters = ${Number(ch?.ids) + Number(dl?.ids)}`);
    }
  } finally {
    clearInterval(sampler);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await (pipeline as Awaited<ReturnType<typeof startIngestPipeline>> | null)?.stop().catch((e: unknown) => console.error('stopping the pipeline:', e));
    await clickhouseCommand(clickhouse, `DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    await privateCh?.close().catch((e: unknown) => console.error('stopping the private ClickHouse:', e));
    await privateKafka?.close().catch((e: unknown) => console.error('stopping the private Kafka mock:', e));
    release();
  }
}

/**
 * Fails unless the raw topic holds every produced record from offset 0 on every partition: the mock drops a
 * partition's oldest records past ~5 MiB, which would silently shrink the backlog.
 */
async function checkBacklog(kafka: string, topic: string, records: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafka.split(','), clientId: `bench-ingest-check-${process.pid}`, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const truncated = offsets.filter((o) => o.low !== '0');
    const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    const max = Math.max(...offsets.map((o) => Number(o.high)));
    console.log(`backlog          ${total} records on ${offsets.length} partitions (up to ${max} on one), none truncated: ${truncated.length === 0}`);
    if (truncated.length) throw new Error(`the broker dropped the oldest records of ${truncated.length} partitions (e.g. ${JSON.stringify(truncated[0])}): raise --raw-partitions`);
    if (total !== records) throw new Error(`the raw topic holds ${total} records, ${records} were produced`);
  } finally {
    await admin.disconnect();
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

if (args.get('role') === 'producer') await producerRole();
else await main();
