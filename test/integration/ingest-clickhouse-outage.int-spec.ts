import { jest } from '@jest/globals';
import { KafkaEventBus } from '@vigil/platform';
import { testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { bulkRecord } from '../fixtures/gateway-records.js';
import { accessEventCounts, clickhouseCommand, clickhouseRows, committedOffsets, type CapturedLine } from '../fixtures/ingest-harness.js';
import { startIngestPipeline, type IngestPipeline } from '../fixtures/ingest-pipeline.js';
import { TcpProxy } from '../fixtures/tcp-proxy.js';

jest.setTimeout(120_000);

/**
 * ClickHouse goes away while raw logs keep arriving. The shared ClickHouse server stays up: the pipeline reaches it
 * through a TCP proxy that the test cuts and restores. Counts are read straight from ClickHouse, not through the proxy.
 */
describe('ingest: ClickHouse unreachable mid-stream', () => {
  const { clickhouseUrl, redisUrl, kafkaBrokers } = testEndpoints();
  const database = uniqueName('it_ingest_outage').replace(/[^A-Za-z0-9_]/g, '_');
  const rawTopic = uniqueName('it-ingest-outage-raw');
  let proxy: TcpProxy;
  let pipeline: IngestPipeline;
  let producer: KafkaEventBus;

  const failures = (lines: CapturedLine[]) => lines.filter((l) => l.msg === 'event bus handler failed; batch will be redelivered');
  const sum = (offsets: Map<number, number>) => [...offsets.values()].filter((o) => o >= 0).reduce((a, b) => a + b, 0);
  const records = (from: number, to: number, base: number) =>
    Array.from({ length: to - from }, (_, i) => ({ key: null, value: bulkRecord(from + i, base).raw }));

  beforeAll(async () => {
    const target = new URL(clickhouseUrl);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 8123));
    pipeline = await startIngestPipeline({
      VIGIL_MODE: 'distributed',
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_CLIENT_ID: uniqueName('it-outage'),
      KAFKA_GROUP_PREFIX: uniqueName('it-outage'),
      CLICKHOUSE_URL: proxy.url,
      CLICKHOUSE_DATABASE: database,
      REDIS_URL: redisUrl,
      VIGIL_HASH_KEY: 'it-outage-hash-key-0123456789',
      VIGIL_TENANT: uniqueName('acme'),
      VIGIL_RAW_LOGS_TOPIC: rawTopic,
      VIGIL_DLQ_TOPIC: uniqueName('it-ingest-outage-dlq'),
      VIGIL_INGEST_BATCH_MAX_EVENTS: '200',
    });
    producer = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('it-outage-producer') });
  });

  afterAll(async () => {
    proxy?.restore();
    await Promise.allSettled([pipeline?.stop(), producer?.close()]);
    await proxy?.close();
    await clickhouseCommand(clickhouseUrl, `DROP DATABASE IF EXISTS ${database}`);
  });

  it('backs off without committing while ClickHouse is down, then stores every record exactly once', async () => {
    const base = Date.now() - 60_000;
    await producer.publish(rawTopic, records(0, 600, base));
    await waitFor(async () => (await accessEventCounts(clickhouseUrl, database)).ids === 600, { timeoutMs: 60_000, what: 'the first 600 events' });
    const committedBefore = await committedOffsets(kafkaBrokers, pipeline.groupId, rawTopic);
    expect(sum(committedBefore)).toBe(600);

    proxy.cut();
    await producer.publish(rawTopic, records(600, 2_000, base));
    // Failures are counted per partition; wait until one partition has failed three times in a row.
    await waitFor(() => failures(pipeline.lines).some((l) => Number(l.failures) >= 3), { timeoutMs: 60_000, what: 'a third failed delivery of one partition' });

    // Nothing was committed past what was stored, and nothing new reached ClickHouse.
    expect(await committedOffsets(kafkaBrokers, pipeline.groupId, rawTopic)).toEqual(committedBefore);
    expect((await accessEventCounts(clickhouseUrl, database)).ids).toBe(600);
    // Redelivery waits 500 ms, doubling per consecutive failure of a partition (1000 ms, then 2000 ms).
    const backoff = failures(pipeline.lines).map((l) => [l.failures, l.retryInMs]);
    for (const [n, delay] of backoff) expect(delay).toBe(500 * 2 ** (Number(n) - 1));
    expect(pipeline.lines.filter((l) => l.msg === 'batch not stored; it will be redelivered').length).toBeGreaterThanOrEqual(3);

    proxy.restore();
    await waitFor(async () => (await accessEventCounts(clickhouseUrl, database)).ids === 2_000, { timeoutMs: 90_000, what: 'all 2000 events after the outage' });
    const counts = await accessEventCounts(clickhouseUrl, database);
    expect({ final: counts.final, ids: counts.ids }).toEqual({ final: 2_000, ids: 2_000 });
    const [paths] = await clickhouseRows<{ n: number }>(clickhouseUrl, `SELECT uniqExact(path) AS n FROM ${database}.access_events`);
    expect(Number(paths?.n)).toBe(2_000);
    await waitFor(async () => sum(await committedOffsets(kafkaBrokers, pipeline.groupId, rawTopic)) === 2_000, { what: 'offsets committed up to the end' });
    expect(proxy.refused).toBeGreaterThan(0);
  });
});
