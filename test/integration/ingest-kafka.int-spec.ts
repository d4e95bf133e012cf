import { jest } from '@jest/globals';
import { AccessEvent, DeadLetter, TOPICS, decodeAccessEventMessage, validate } from '@vigil/contracts';
import { KafkaEventBus, ManualClock, type InboundMessage, type OutboundMessage } from '@vigil/platform';
import { testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { expectedFields, rawRecord, type BulkFormat, type RequestSpec } from '../fixtures/gateway-records.js';
import { TopicReader, accessEventCounts, clickhouseCommand, clickhouseRows } from '../fixtures/ingest-harness.js';
import { startIngestPipeline, type IngestPipeline } from '../fixtures/ingest-pipeline.js';

jest.setTimeout(120_000);

/**
 * The raw-log consumer against the real Kafka-protocol broker and real ClickHouse: a realistic mix of gateway records
 * (six formats, a trusted and a spoofed X-Forwarded-For, hostile strings) and broken ones goes in on a raw topic of its
 * own; what comes out is checked in ClickHouse, on the shared access-events topic (filtered by this run's tenants) and
 * on a DLQ topic of its own.
 */
const NOW = Date.UTC(2024, 4, 14, 10, 5, 0);
const T = NOW - 5 * 60_000; // whole second, as nginx logs it

const HOSTILE_UA = `Mozilla/5.0 "><script>alert(document.cookie)</script>' OR '1'='1'; DROP TABLE access_events; -- \\ 🐉 Zürich ‮txt.exe`;

const spec = (over: Partial<RequestSpec>): RequestSpec => ({
  ts: T,
  ip: '203.0.113.7',
  method: 'GET',
  path: '/v1/orders/8812',
  query: 'limit=5',
  status: 200,
  latencyMs: 13,
  bytesOut: 512,
  userAgent: 'python-requests/2.31',
  requestId: '',
  host: 'api.example.com',
  consumer: 'acme-bot',
  ...over,
});

interface Good {
  name: string;
  format: BulkFormat;
  raw: string;
  expect: Partial<AccessEvent>;
  headers?: Record<string, string>;
}

/** A Kong record whose peer is `peer` and whose X-Forwarded-For header is `xff`. */
function kongBehind(peer: string, xff: string, s: RequestSpec): string {
  const r = JSON.parse(rawRecord('kong', s)) as { client_ip: string; request: { headers: Record<string, string> } };
  r.client_ip = peer;
  r.request.headers['x-forwarded-for'] = xff;
  return JSON.stringify(r);
}

function goodRecords(tenant: string, otherTenant: string): Good[] {
  const g = (name: string, format: BulkFormat, s: RequestSpec, t = tenant): Good => ({ name, format, raw: rawRecord(format, s), expect: expectedFields(format, s, t) });
  const viaProxy = spec({ ip: '203.0.113.50', path: '/v1/payments', query: '', status: 201, method: 'POST', requestId: 'kong-xff-trusted' });
  const spoofed = spec({ ip: '198.51.100.77', path: '/v1/admin', query: '', status: 403, requestId: 'kong-xff-spoofed', consumer: '' });
  return [
    g('kong 200 from an authenticated consumer', 'kong', spec({ requestId: 'kong-4f2b6c7a' })),
    g('envoy 503 from an IPv6 client', 'envoy', spec({ ip: '2001:db8::7', method: 'PUT', path: '/v1/users/42', query: '', status: 503, latencyMs: 3001, requestId: 'envoy-a0b1', consumer: '' })),
    g('nginx 401 with a hostile user agent', 'nginx', spec({ ip: '198.51.100.23', method: 'POST', path: '/v1/login', query: '', status: 401, latencyMs: 1, userAgent: HOSTILE_UA, consumer: '' })),
    g('aws 429', 'aws', spec({ ip: '192.0.2.44', path: '/v1/search', query: '', status: 429, requestId: 'c6af9ac6-7b61-11e6', consumer: '' })),
    g('traefik 400 with SQL and markup in the query', 'traefik', spec({ ip: '192.0.2.45', path: '/v1/search', query: 'q=%27%20OR%201%3D1--&sort=%3Cscript%3E', status: 400 })),
    {
      ...g('vigil 201 for the tenant named in the Kafka header', 'vigil', spec({ ip: '203.0.113.99', method: 'POST', path: '/v1/orders', query: '', status: 201, requestId: 'vg-01HXZ3' }), otherTenant),
      headers: { tenant: otherTenant, format: 'vigil' },
    },
    { name: 'kong behind the trusted proxy', format: 'kong', raw: kongBehind('10.0.0.2', '203.0.113.50', viaProxy), expect: expectedFields('kong', viaProxy, tenant) },
    { name: 'kong with X-Forwarded-For from an untrusted peer', format: 'kong', raw: kongBehind('198.51.100.77', '10.9.9.9', spoofed), expect: expectedFields('kong', spoofed, tenant) },
  ];
}

const BAD: { reason: string; raw: string }[] = [
  { reason: 'invalid_json', raw: '{"request":{"method":"GET","uri":"/v1/orders/1"},"response":{"status":200' },
  { reason: 'oversized', raw: rawRecord('kong', spec({ userAgent: 'A'.repeat(70_000), requestId: 'big-1' })) },
  { reason: 'absurd_timestamp', raw: rawRecord('vigil', spec({ ts: Date.UTC(2099, 0, 1), requestId: 'future-1' })) },
  { reason: 'invalid_status', raw: rawRecord('kong', spec({ status: 999, requestId: 'status-999' })) },
  { reason: 'control_characters', raw: rawRecord('envoy', spec({ path: '/v1/orders/1\r\nX-Injected: true', requestId: 'crlf-1' })) },
  { reason: 'unknown_format', raw: '{"hello":"world","level":"info"}' },
];

describe('ingest: raw gateway logs from Kafka into ClickHouse', () => {
  const { clickhouseUrl, redisUrl, kafkaBrokers } = testEndpoints();
  const tenant = uniqueName('acme');
  const otherTenant = uniqueName('globex');
  const database = uniqueName('it_ingest_kafka').replace(/[^A-Za-z0-9_]/g, '_');
  const rawTopic = uniqueName('it-ingest-raw');
  const dlqTopic = uniqueName('it-ingest-dlq');
  const good = goodRecords(tenant, otherTenant);
  const production: OutboundMessage[] = [
    ...good.map((r) => ({ key: 'edge-gw-1', value: r.raw, ...(r.headers ? { headers: r.headers } : {}) })),
    { key: 'edge-gw-1', value: good[0]!.raw }, // the shipper sent one record twice
    ...BAD.map((b) => ({ key: 'edge-gw-1', value: b.raw })),
  ];

  let pipeline: IngestPipeline;
  let producer: KafkaEventBus;
  let rawReader: TopicReader;
  let eventsReader: TopicReader;
  let dlqReader: TopicReader;
  let stored: AccessEvent[];

  // A message on the access-events topic holds one event or an envelope of several (decodeAccessEventMessage reads both).
  const ourTenant = (m: InboundMessage) => decodeAccessEventMessage(m.value).events.some((e) => e.tenant === tenant || e.tenant === otherTenant);
  const listStored = async () =>
    [...(await pipeline.store.accessEvents.list({ tenant })), ...(await pipeline.store.accessEvents.list({ tenant: otherTenant }))].sort((a, b) =>
      a.id.localeCompare(b.id),
    );
  const deadLetterCount = async () =>
    Number((await clickhouseRows<{ n: number }>(clickhouseUrl, `SELECT uniqExact(id) AS n FROM ${database}.dead_letters`))[0]?.n ?? 0);

  beforeAll(async () => {
    pipeline = await startIngestPipeline(
      {
        VIGIL_MODE: 'distributed',
        KAFKA_BROKERS: kafkaBrokers.join(','),
        KAFKA_CLIENT_ID: uniqueName('it-ingest'),
        KAFKA_GROUP_PREFIX: uniqueName('it-ingest'),
        CLICKHOUSE_URL: clickhouseUrl,
        CLICKHOUSE_DATABASE: database,
        REDIS_URL: redisUrl,
        VIGIL_HASH_KEY: 'it-ingest-hash-key-0123456789',
        VIGIL_TENANT: tenant,
        VIGIL_TRUSTED_PROXIES: '10.0.0.2',
        VIGIL_RAW_LOGS_TOPIC: rawTopic,
        VIGIL_DLQ_TOPIC: dlqTopic,
      },
      { clock: new ManualClock(NOW) },
    );
    producer = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('it-ingest-producer') });
    [rawReader, eventsReader, dlqReader] = await Promise.all([
      TopicReader.start(kafkaBrokers, rawTopic),
      TopicReader.start(kafkaBrokers, TOPICS.accessEvents, ourTenant),
      TopicReader.start(kafkaBrokers, dlqTopic),
    ]);
    await producer.publish(rawTopic, production);
    let seen = '';
    await waitFor(
      async () => {
        const [letters, events] = [await deadLetterCount(), (await accessEventCounts(clickhouseUrl, database)).ids];
        seen = `${events} events, ${letters} dead letters; consumer log: ${JSON.stringify(pipeline.lines.slice(-5))}`;
        return letters === BAD.length && events === good.length;
      },
      { timeoutMs: 60_000, what: `${good.length} events and ${BAD.length} dead letters in ClickHouse` },
    ).catch((e: Error) => {
      throw new Error(`${e.message} (saw ${seen})`);
    });
    stored = await listStored();
  });

  afterAll(async () => {
    await Promise.allSettled([pipeline?.stop(), producer?.close(), rawReader?.close(), eventsReader?.close(), dlqReader?.close()]);
    await clickhouseCommand(clickhouseUrl, `DROP DATABASE IF EXISTS ${database}`);
  });

  it('stores every good record exactly once, with the fields normalised from its format', async () => {
    expect(await accessEventCounts(clickhouseUrl, database)).toMatchObject({ final: good.length, ids: good.length });
    expect(stored).toHaveLength(good.length);
    for (const r of good) {
      const match = stored.filter((e) => e.format === r.format && e.clientIp === r.expect.clientIp && e.path === r.expect.path);
      expect({ record: r.name, events: match.length }).toEqual({ record: r.name, events: 1 });
      expect(match[0]).toMatchObject(r.expect);
    }
  });

  it('keeps hostile strings verbatim through ClickHouse', () => {
    expect(stored.find((e) => e.format === 'nginx')?.userAgent).toBe(HOSTILE_UA);
    expect(stored.find((e) => e.format === 'traefik')?.query).toBe('q=%27%20OR%201%3D1--&sort=%3Cscript%3E');
  });

  it('takes the client from X-Forwarded-For only behind a trusted proxy', () => {
    expect(stored.find((e) => e.path === '/v1/payments')?.clientIp).toBe('203.0.113.50');
    expect(stored.find((e) => e.path === '/v1/admin')?.clientIp).toBe('198.51.100.77');
  });

  it('publishes every stored event on the access-events topic, keyed by tenant|client ip', async () => {
    const eventsOnTopic = () => eventsReader.messages.flatMap((m) => decodeAccessEventMessage(m.value).events.map((e) => ({ e, m })));
    const published = await waitFor(() => (eventsOnTopic().length >= good.length ? eventsOnTopic() : null), { timeoutMs: 60_000, what: `${good.length} access events of this run` });
    const byId = new Map(published.map((x) => [x.e.id, x] as const));
    expect(published).toHaveLength(byId.size);
    expect([...byId.keys()].sort()).toEqual(stored.map((e) => e.id));
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const s of stored) {
      const { e, m } = byId.get(s.id)!;
      expect(validate(AccessEvent, e)).toEqual({ ok: true, value: s });
      const key = `${s.tenant}|${s.clientIp}`;
      // a lone event is keyed by its own key; an envelope by its first event's, on the partition all its keys map to
      if (decodeAccessEventMessage(m.value).events.length === 1) expect(m.key).toBe(key);
      partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(m.partition));
    }
    // each client IP's events on one partition: what the detector's per-IP state relies on
    expect([...partitionsOfKey].filter(([, ps]) => ps.size !== 1)).toEqual([]);
  });

  it('dead-letters every bad record with its reason and its Kafka source, in ClickHouse and on the DLQ topic', async () => {
    const sourceOf = new Map((await rawReader.waitForCount(production.length, 'raw records')).map((m) => [m.value, `kafka:${m.topic}/${m.partition}@${m.offset}`]));
    const letters = await pipeline.store.deadLetters.list({ tenant });
    expect(letters).toHaveLength(BAD.length);
    const onTopic = (await dlqReader.waitForCount(BAD.length, 'dead letters on the DLQ topic')).map((m) => ({
      m,
      d: validate(DeadLetter, JSON.parse(m.value)),
    }));
    for (const bad of BAD) {
      const d = letters.find((l) => l.raw === bad.raw);
      expect({ reason: bad.reason, found: d !== undefined }).toEqual({ reason: bad.reason, found: true });
      expect(d!.reason.startsWith(`${bad.reason}: `)).toBe(true);
      expect(d!.source).toBe(sourceOf.get(bad.raw));
      expect(d!.receivedAt).toBe(NOW);
      const published = onTopic.find((x) => x.d.ok && x.d.value.id === d!.id);
      expect(published?.d).toEqual({ ok: true, value: d });
      expect(published?.m.headers['reason']).toBe(bad.reason);
      expect(published?.m.key).toBe(tenant);
    }
    const rejected = await pipeline.metrics.registry.getSingleMetric('vigil_ingest_rejected_total')!.get();
    expect(Object.fromEntries(rejected.values.map((v) => [v.labels['reason'], v.value]))).toEqual(Object.fromEntries(BAD.map((b) => [b.reason, 1])));
  });

  it('stores no new event when the same raw records are produced again (idempotent by event id)', async () => {
    await producer.publish(rawTopic, production);
    // Dead letters are keyed by source offset, so the second delivery adds one per bad record: the signal that it is done.
    await waitFor(async () => (await deadLetterCount()) === 2 * BAD.length, { timeoutMs: 60_000, what: 'the second delivery to be processed' });
    expect(await accessEventCounts(clickhouseUrl, database)).toMatchObject({ final: good.length, ids: good.length });
    expect(await listStored()).toEqual(stored);
    const letters = await pipeline.store.deadLetters.list({ tenant });
    for (const bad of BAD) expect(new Set(letters.filter((l) => l.raw === bad.raw).map((l) => l.source)).size).toBe(2);
  });
});
