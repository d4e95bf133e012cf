import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import kafkajs from 'kafkajs';
import type { DeadLetter } from '@vigil/contracts';
import { testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { bulkRecord, bulkSpec, rawRecord } from '../fixtures/gateway-records.js';
import { accessEventCounts, clickhouseRows, TopicReader, type EventCounts } from '../fixtures/ingest-harness.js';
import { startPrivateClickHouse, type PrivateClickHouse } from '../fixtures/private-clickhouse.js';
import { REPO_ROOT, spawnService, type ServiceProcess } from './helpers/service-process.js';

/** The whole replay, outage included; the assertions are on counts, never on how long it took. */
jest.setTimeout(45 * 60_000);

/** Lines replayed. VIGIL_E2E_REPLAY_RECORDS shrinks it for a quick local try; the done-when is 1,000,000. */
const RECORDS = Number(process.env.VIGIL_E2E_REPLAY_RECORDS ?? 1_000_000);
/** One bad record in every block of BAD_EVERY lines (1,000 in 1,000,000), at a position that moves from block to block. */
const BAD_EVERY = 1_000;
const badPosition = (block: number): number => (617 + 7 * block) % BAD_EVERY;
const PARTITIONS = 4; // what the Kafka mock auto-creates
/** Records per produce request, spread over the partitions. */
const PRODUCE_CHUNK = 4_000;
/**
 * Flow control: the producer waits while any partition holds more than this many records the ingest group has not
 * committed. The mock keeps only ~5 MiB per partition: a partition whose batch is stuck in redelivery backoff while the
 * others move on must not be truncated past that batch (kafkajs would then reset to the earliest offset it still has,
 * and skip the records in between).
 */
const MAX_LAG_PER_PARTITION = 3_000;
/** ClickHouse goes down once this share of the records is stored, and stays down at least OUTAGE_MS. */
const OUTAGE_AT = 0.4;
const OUTAGE_MS = 20_000;
/** How long the server may drain its open connections after SIGTERM before it is killed (see the outage below). */
const STOP_GRACE_MS = 2_000;
/** Lowered from the 64 KiB default so oversized records stay small on the mock's ~5 MiB-per-partition topics. */
const MAX_RECORD_BYTES = 8_192;
const DAY_MS = 86_400_000;

type BadKind = 'invalid_json' | 'absurd_timestamp' | 'invalid_status' | 'oversized' | 'control_characters';
const BAD_KINDS: readonly BadKind[] = ['invalid_json', 'absurd_timestamp', 'invalid_status', 'oversized', 'control_characters'];

/** A bad record of `kind` in place of request `n`, each in a different gateway format. */
function badRecord(kind: BadKind, n: number, base: number): string {
  switch (kind) {
    case 'invalid_json': // a Kong line cut short (a truncated write)
      return rawRecord('kong', bulkSpec(n, base, 'kong')).slice(0, -25);
    case 'absurd_timestamp': // an Envoy line from over a year ago (a replayed archive, a broken clock)
      return rawRecord('envoy', { ...bulkSpec(n, base, 'envoy'), ts: base - 400 * DAY_MS });
    case 'invalid_status':
      return rawRecord('traefik', { ...bulkSpec(n, base, 'traefik'), status: 999 });
    case 'oversized': // an AWS line with a user agent past the record limit
      return rawRecord('aws', { ...bulkSpec(n, base, 'aws'), userAgent: `Mozilla/5.0 (X11; Linux x86_64) ${'A'.repeat(MAX_RECORD_BYTES)}` });
    case 'control_characters':
      return rawRecord('vigil', { ...bulkSpec(n, base, 'vigil'), path: `/v1/orders/${100_000 + n}\u0007/items` });
  }
}

function lineFor(n: number, base: number): { raw: string; bad: BadKind | null } {
  if (n % BAD_EVERY === badPosition(Math.floor(n / BAD_EVERY))) {
    const kind = BAD_KINDS[Math.floor(n / BAD_EVERY) % BAD_KINDS.length]!;
    return { raw: badRecord(kind, n, base), bad: kind };
  }
  return { raw: bulkRecord(n, base).raw, bad: null };
}

/** Sums of the ingest counters on /metrics. */
interface IngestMetrics {
  accepted: number;
  rejected: Map<string, number>;
}

function parseMetrics(text: string): IngestMetrics {
  const m: IngestMetrics = { accepted: 0, rejected: new Map() };
  for (const line of text.split('\n')) {
    const hit = /^vigil_ingest_(accepted|rejected)_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!hit) continue;
    const value = Number(hit[3]);
    if (hit[1] === 'accepted') m.accepted += value;
    else {
      const reason = /reason="([^"]*)"/.exec(hit[2]!)?.[1] ?? '?';
      m.rejected.set(reason, (m.rejected.get(reason) ?? 0) + value);
    }
  }
  return m;
}
const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

interface HealthSample {
  at: number;
  status: number;
  storeOk: boolean | null;
}

/**
 * Issue #3's done-when: a 1M-line replay through Kafka lands exactly 1M rows less those dead-lettered, each with its
 * reason, even when ClickHouse is stopped and restarted mid-run. The real ingest service (a child process) consumes a
 * fresh raw topic on the shared Kafka mock and stores into a ClickHouse server of this test's own, which is really
 * stopped once 40 % is stored (SIGTERM, and SIGKILL if it still runs 2 s later) and started again on the same data dir
 * ~20 s later.
 */
describe('ingest service replaying 1M raw gateway lines from Kafka', () => {
  const { kafkaBrokers, redisUrl } = testEndpoints();
  const run = uniqueName('e2e-replay');
  const rawTopic = `${run}-raw`;
  const dlqTopic = `${run}-dlq`;
  const database = 'vigil_replay';
  let ch: PrivateClickHouse | undefined;
  let ingest: ServiceProcess | undefined;
  let dlq: TopicReader | undefined;
  let producer: kafkajs.Producer | undefined;
  const timers: NodeJS.Timeout[] = [];

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    await ingest?.kill();
    // For a post-mortem: the service's log and ClickHouse's own logs, in artifacts/e2e-logs/<run>/ (gitignored).
    const logs = join(REPO_ROOT, 'artifacts', 'e2e-logs', run);
    mkdirSync(logs, { recursive: true });
    if (ingest) writeFileSync(join(logs, 'ingest.log'), `${ingest.stdout()}\n--- stderr ---\n${ingest.stderr()}`);
    for (const f of ['log/e.log', 'stderr.log']) {
      if (ch && existsSync(join(ch.dir, 'clickhouse', f))) copyFileSync(join(ch.dir, 'clickhouse', f), join(logs, `clickhouse-${f.replace('/', '-')}`));
    }
    process.stderr.write(`[replay] logs in ${logs}\n`);
    await producer?.disconnect().catch(() => undefined);
    await dlq?.close().catch(() => undefined);
    await ch?.close();
  });

  it('stores every valid line exactly once and dead-letters exactly the injected bad ones, across a ClickHouse stop and restart', async () => {
    const started = Date.now();
    const say = (msg: string) => process.stderr.write(`[replay +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
    ch = await startPrivateClickHouse('replay');
    say(`private ClickHouse at ${ch.url} (pid ${ch.pid()}), ${RECORDS} records, raw topic ${rawTopic}`);

    dlq = await TopicReader.start(kafkaBrokers, dlqTopic);
    ingest = await spawnService(
      'ingest',
      {
        VIGIL_MODE: 'distributed',
        KAFKA_BROKERS: kafkaBrokers.join(','),
        KAFKA_CLIENT_ID: run,
        KAFKA_GROUP_PREFIX: run,
        CLICKHOUSE_URL: ch.url,
        CLICKHOUSE_DATABASE: database,
        REDIS_URL: redisUrl,
        VIGIL_HASH_KEY: 'e2e-replay-hash-key-0123456789abcdef',
        VIGIL_TENANT: 'replay',
        VIGIL_RAW_LOGS_TOPIC: rawTopic,
        VIGIL_DLQ_TOPIC: dlqTopic,
        // The normalised events go to a topic of the run's own: a million of them would flood the shared one.
        VIGIL_ACCESS_EVENTS_TOPIC: `${run}-events`,
        VIGIL_INGEST_MAX_RECORD_BYTES: String(MAX_RECORD_BYTES),
        LOG_LEVEL: 'info',
      },
      90_000,
    );
    const service = ingest;
    const server = ch;

    // What the service has stored (accepted + dead-lettered), from its /metrics: the producer's flow control.
    let metrics: IngestMetrics = { accepted: 0, rejected: new Map() };
    const stored = () => metrics.accepted + sum(metrics.rejected);
    const readMetrics = async () => (metrics = parseMetrics(await (await fetch(`${service.url}/metrics`)).text()));
    timers.push(setInterval(() => void readMetrics().catch(() => undefined), 200));

    // /health once a second: 503 with a failing store check is how the service tells an operator ClickHouse is gone.
    const health: HealthSample[] = [];
    let probing = false;
    timers.push(
      setInterval(() => {
        if (probing) return;
        probing = true;
        void fetch(`${service.url}/health`)
          .then(async (res) => {
            const body = (await res.json()) as { checks?: { name: string; ok: boolean }[] };
            health.push({ at: Date.now(), status: res.status, storeOk: body.checks?.find((c) => c.name === 'store')?.ok ?? null });
          })
          .catch(() => undefined)
          .finally(() => (probing = false));
      }, 1_000),
    );

    // The producer: explicit partitions, so each record's source offset is known from the produce answers.
    const kafka = new kafkajs.Kafka({ clientId: `${run}-producer`, brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    const base = Date.now() - 120_000;
    /** `partition@offset` → the bad record there. */
    const injected = new Map<string, { kind: BadKind; raw: string }>();
    let produced = 0;
    let heldMs = 0;
    // The ingest group's committed offsets, polled: what each partition still holds unconsumed.
    const admin = kafka.admin();
    await admin.connect();
    const end = new Map<number, bigint>(); // next offset to be produced, per partition
    const committed = new Map<number, bigint>();
    let polling = true;
    const pollingOffsets = (async () => {
      while (polling) {
        try {
          const [t] = await admin.fetchOffsets({ groupId: `${run}-ingest`, topics: [rawTopic] });
          for (const p of t?.partitions ?? []) committed.set(p.partition, BigInt(Math.max(0, Number(p.offset))));
        } catch {
          // the next poll tries again
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const backlogFull = () => [...end].some(([p, e]) => e - (committed.get(p) ?? 0n) > BigInt(MAX_LAG_PER_PARTITION - PRODUCE_CHUNK / PARTITIONS));
    const producing = (async () => {
      const p = producer!;
      while (produced < RECORDS) {
        const n0 = produced;
        const count = Math.min(PRODUCE_CHUNK, RECORDS - n0);
        const lines = Array.from({ length: count }, (_, i) => lineFor(n0 + i, base));
        const held = Date.now();
        while (backlogFull()) await new Promise((r) => setTimeout(r, 20));
        heldMs += Date.now() - held;
        const answers = await p.send({
          topic: rawTopic,
          acks: -1,
          messages: lines.map((l, i) => ({ value: l.raw, partition: (n0 + i) % PARTITIONS })),
        });
        // kafkajs sends each partition's messages in order, starting at that partition's baseOffset.
        const next = new Map(answers.map((a) => [a.partition, BigInt(a.baseOffset ?? a.offset ?? '-1')]));
        lines.forEach((l, i) => {
          const partition = (n0 + i) % PARTITIONS;
          const offset = next.get(partition);
          if (offset === undefined || offset < 0n) throw new Error(`no base offset for partition ${partition} in the produce answer`);
          next.set(partition, offset + 1n);
          if (l.bad) injected.set(`${partition}@${offset}`, { kind: l.bad, raw: l.raw });
        });
        for (const [partition, offset] of next) end.set(partition, offset);
        produced = n0 + count;
      }
    })();
    producing.catch(() => undefined); // awaited below

    let phase = 'replaying';
    const rowsNow = async () => {
      const [r] = await clickhouseRows<{ n: number }>(server.url, `SELECT count() AS n FROM ${database}.access_events`);
      return Number(r?.n ?? 0);
    };
    let lastAt = Date.now();
    let lastStored = 0;
    timers.push(
      setInterval(() => {
        void rowsNow()
          .then(String, (e: unknown) => `n/a (${e instanceof Error ? e.message.slice(0, 80) : String(e)})`)
          .then((rows) => {
            const now = Date.now();
            const rate = ((stored() - lastStored) * 1000) / Math.max(1, now - lastAt);
            [lastAt, lastStored] = [now, stored()];
            say(`${phase}: produced ${produced}, stored ${stored()} (${metrics.accepted} accepted, ${sum(metrics.rejected)} dead-lettered; ${rate.toFixed(0)}/s), rows in ClickHouse ${rows}, DLQ messages ${dlq?.messages.length ?? 0}`);
          });
      }, 5_000),
    );

    // The outage: stop ClickHouse mid-stream, keep it down, start it again. SIGTERM alone is not an outage for a busy
    // client: the server goes on serving its open keep-alive connections, and on CI the ingest stored all of the
    // remaining 600,000 records during the 21–26 s the server took to exit, so no batch ever failed. Hence the short
    // grace before SIGKILL, which is also the harder case (inserts cut off mid-request).
    await waitFor(() => stored() >= RECORDS * OUTAGE_AT, { timeoutMs: 20 * 60_000, intervalMs: 100, what: `${OUTAGE_AT * 100} % of the records stored` });
    const atStop = stored();
    phase = 'ClickHouse stopping';
    const stopAt = Date.now();
    const endedBy = await server.stop({ graceMs: STOP_GRACE_MS });
    const stoppedAt = Date.now();
    expect(server.pid()).toBeNull();
    phase = 'ClickHouse down';
    say(`ClickHouse stopped at ${atStop} stored (${endedBy} ended it, ${stoppedAt - stopAt} ms after the SIGTERM; ${stored() - atStop} stored meanwhile)`);
    // Down for OUTAGE_MS (the drill's length) and until /health has reported it.
    await waitFor(() => Date.now() - stopAt >= OUTAGE_MS && health.some((h) => h.at > stoppedAt && h.status === 503), {
      timeoutMs: OUTAGE_MS + 60_000,
      intervalMs: 100,
      what: 'the outage to last its length and /health to answer 503',
    });
    const storedWhileDown = stored() - atStop;
    await server.start();
    const upAt = Date.now();
    phase = 'after the restart';
    say(`ClickHouse started again after ${upAt - stopAt} ms down; ${storedWhileDown} records stored while it was down (batches in flight at the stop)`);
    // The outage fell mid-stream: records were left to store after the restart, so the recovery below is exercised.
    expect(atStop + storedWhileDown).toBeLessThan(RECORDS);

    try {
      await producing;
    } finally {
      polling = false;
      await pollingOffsets;
      await admin.disconnect();
    }
    say(`all ${RECORDS} records produced (${(heldMs / 1000).toFixed(1)} s held back by the lag bound)`);
    await waitFor(() => stored() >= RECORDS, { timeoutMs: 20 * 60_000, intervalMs: 200, what: `all ${RECORDS} records stored (have ${stored()})` });
    const expectedBad = injected.size;
    await dlq.waitForCount(expectedBad, 'dead letters on the DLQ topic', 120_000);
    await waitFor(async () => health.some((h) => h.at > upAt && h.status === 200), { timeoutMs: 30_000, what: '/health 200 after the restart' });
    const storedAt = Date.now();
    await readMetrics();
    say(`stored everything: ${metrics.accepted} accepted, ${sum(metrics.rejected)} dead-lettered`);

    // The injected set: one bad record per 1,000 lines, every kind equally often.
    const blocks = Array.from({ length: Math.ceil(RECORDS / BAD_EVERY) }, (_, b) => b);
    expect(expectedBad).toBe(blocks.filter((b) => b * BAD_EVERY + badPosition(b) < RECORDS).length);
    const good = RECORDS - expectedBad;

    // ClickHouse: every good line is there once, and nothing else. Asserted on FINAL and distinct ids, not on the plain
    // count(): twins ARE written. A batch is retried as a whole (its offsets are not committed), so when its events
    // insert succeeded but something after it failed (its dead letters' insert, a publish, or a reset connection after
    // ClickHouse had taken the insert), the retry inserts those events again; the ReplacingMergeTree merges the twins
    // away by event id, sooner or later. system.part_log counts every row ever inserted (e.g. 17,928 twins of 999,000
    // in one run), so the plain count() is only printed: it may still include a twin not merged yet.
    const counts: EventCounts = await accessEventCounts(server.url, database);
    const [dead] = await clickhouseRows<{ rows: number; ids: number }>(server.url, `SELECT count() AS rows, uniqExact(id) AS ids FROM ${database}.dead_letters`);
    const inserted = await server.rowsInserted(database, 'access_events');
    const insertedDead = await server.rowsInserted(database, 'dead_letters');
    say(`ClickHouse: ${counts.rows} rows, ${counts.ids} distinct ids, ${counts.final} after FINAL, ${inserted} ever inserted; dead_letters ${dead?.rows} rows, ${dead?.ids} ids, ${insertedDead} ever inserted`);
    expect({ ids: counts.ids, final: counts.final }).toEqual({ ids: good, final: good });
    expect(counts.rows).toBeGreaterThanOrEqual(good);
    // `inserted` (system.part_log) is printed, not asserted: part_log is flushed from memory every few seconds, so the
    // entries of parts written shortly before the stop can be missing after the restart (CI: 923,076 logged for
    // more rows physically present). The exactness checks are the distinct ids and FINAL above.
    expect({ ids: Number(dead?.ids) }).toEqual({ ids: expectedBad });

    // The DLQ topic: each injected record with its reason, its source offset and its original text. The topic is
    // at-least-once (a batch redelivered after its dead letters were published publishes them again, with the same
    // deterministic id), so it is compared by dead-letter id.
    const letters = new Map<string, DeadLetter>();
    for (const m of dlq.messages) {
      const d = JSON.parse(m.value) as DeadLetter;
      letters.set(d.id, d);
    }
    const sourcePrefix = `kafka:${rawTopic}/`;
    const got = new Map(
      [...letters.values()].map((d) => [d.source.startsWith(sourcePrefix) ? d.source.slice(sourcePrefix.length) : d.source, { kind: d.reason.split(':')[0], raw: d.raw }]),
    );
    expect(got.size).toBe(letters.size); // one dead letter per source offset
    const mismatched = [...injected].filter(([at, want]) => got.get(at)?.kind !== want.kind || got.get(at)?.raw !== want.raw.slice(0, 1024 * 1024));
    expect({ size: got.size, mismatched: mismatched.slice(0, 5).map(([at, w]) => ({ at, want: w.kind, got: got.get(at)?.kind })) }).toEqual({ size: expectedBad, mismatched: [] });
    for (const d of letters.values()) expect(d.reason).toMatch(/^[a-z_]+: \S/); // the code, then why
    const perKind = (kind: BadKind) => [...injected.values()].filter((b) => b.kind === kind).length;

    // /metrics: every record counted once (a failed batch is not counted; its redelivery is), rejections by reason.
    expect(metrics.accepted).toBe(good);
    expect(Object.fromEntries(metrics.rejected)).toEqual(Object.fromEntries(BAD_KINDS.map((k) => [k, perKind(k)])));

    // The service saw the outage and recovered: /health 503 (store check failing) while ClickHouse was down, 200 after;
    // it logged the failed batches as to be redelivered; it is still running.
    const down = health.filter((h) => h.at > stoppedAt && h.at < upAt);
    expect(down.some((h) => h.status === 503 && h.storeOk === false)).toBe(true);
    const after = await waitFor(() => health.find((h) => h.at > storedAt), { timeoutMs: 30_000, what: 'a /health answer after the replay' });
    expect(after.status).toBe(200);
    const redelivered = service.logs().filter((l) => l.msg === 'batch not stored; it will be redelivered');
    expect(redelivered.length).toBeGreaterThan(0);
    expect(service.logs().filter((l) => l.level === 'fatal' || Number(l.level) >= 60)).toEqual([]);
    // The broker never dropped records the service had not consumed yet (the precondition of "nothing lost" here).
    expect(service.logs().filter((l) => /offset out of range/i.test(l.msg))).toEqual([]);

    const seconds = (storedAt - started) / 1000;
    say(
      [
        `done: ${RECORDS} lines in ${seconds.toFixed(1)} s (${(RECORDS / seconds).toFixed(0)} records/s overall, outage included)`,
        `ClickHouse down ${((upAt - stopAt) / 1000).toFixed(1)} s (SIGTERM to exit ${stoppedAt - stopAt} ms, ended by ${endedBy})`,
        `distinct events ${counts.ids} (= ${RECORDS} − ${expectedBad}), plain count() ${counts.rows}, DLQ ${letters.size} distinct dead letters in ${dlq.messages.length} messages`,
        `${redelivered.length} failed batches logged for redelivery; /health samples during the outage: ${down.map((h) => h.status).join(',')}`,
        `rows ever inserted: access_events ${inserted} (part_log, a lower bound: entries flushed before a stop can be lost), dead_letters ${insertedDead}`,
      ].join('\n  '),
    );
  });
});
