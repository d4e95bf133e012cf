import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { replay } from './replay.js';
import { readLines } from './read-lines.js';
import { FatalShipError, HttpShipper, contentTypeOf, retryAfterMs, type ShipResult, type Shipper } from './shippers.js';
import { replaySummaryText, type ReplayCommandResult } from './replay-command.js';
import { Pacer, parseSpeed } from './speed.js';

class RecordingShipper implements Shipper {
  readonly batches: { at: number; records: string[] }[] = [];
  closed = false;
  constructor(private readonly clock: { t: number }) {}
  async ship(records: string[]): Promise<ShipResult> {
    this.batches.push({ at: this.clock.t, records });
    const bad = records.filter((r) => r.includes('bad')).length;
    return { accepted: records.length - bad, rejected: bad, reasons: bad ? { invalid_status: bad } : {} };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('parseSpeed', () => {
  it.each([
    ['max', { kind: 'max' }],
    ['60x', { kind: 'factor', factor: 60 }],
    ['1X', { kind: 'factor', factor: 1 }],
    ['0.5x', { kind: 'factor', factor: 0.5 }],
    ['120', { kind: 'factor', factor: 120 }],
  ])('reads %s', (text, speed) => {
    expect(parseSpeed(text)).toEqual(speed);
  });
  it.each(['fast', '0x', '-2x', 'x', ''])('rejects %p', (text) => {
    expect(() => parseSpeed(text)).toThrow(/speed must be "max" or an acceleration like 60x/);
  });
});

describe('Pacer', () => {
  it('schedules records by event time divided by the factor', () => {
    const clock = { t: 1_000 };
    const p = new Pacer({ kind: 'factor', factor: 60 }, () => clock.t);
    expect(p.delayFor(10_000_000)).toBe(0);
    expect(p.delayFor(10_000_000 + 60_000)).toBe(1_000); // one minute of logs = one second at 60x
    clock.t += 400;
    expect(p.delayFor(10_000_000 + 60_000)).toBe(600);
    expect(p.delayFor(undefined)).toBe(0);
  });
  it('never waits at max speed', () => {
    const p = new Pacer({ kind: 'max' }, () => 0);
    expect(p.delayFor(1)).toBe(0);
    expect(p.delayFor(1e12)).toBe(0);
  });
});

describe('replay', () => {
  it('ships every record in order, in batches, and sums what the destination accepted and rejected', async () => {
    const clock = { t: 0 };
    const shipper = new RecordingShipper(clock);
    const records = Array.from({ length: 1_234 }, (_, i) => (i % 100 === 7 ? `bad ${i}` : `rec ${i}`));
    const s = await replay({ records, shipper, batchSize: 500, speed: { kind: 'max' }, timestampOf: () => undefined, now: () => clock.t });
    expect(shipper.batches.map((b) => b.records.length)).toEqual([500, 500, 234]);
    expect(shipper.batches.flatMap((b) => b.records)).toEqual(records);
    expect(s).toMatchObject({ sent: 1_234, accepted: 1_221, rejected: 13, reasons: { invalid_status: 13 }, untimed: 1_234 });
    expect(shipper.closed).toBe(true);
  });

  it('paces by event time at 60x: one minute of logs takes one second, and a batch goes out before each pause', async () => {
    const clock = { t: 0 };
    const shipper = new RecordingShipper(clock);
    const t0 = Date.UTC(2024, 4, 14, 10);
    // Three bursts of 10 records, one minute of event time apart.
    const records = [0, 1, 2].flatMap((m) => Array.from({ length: 10 }, (_, i) => JSON.stringify({ ts: t0 + m * 60_000 + i })));
    const slept: number[] = [];
    const s = await replay({
      records, shipper, batchSize: 100, speed: { kind: 'factor', factor: 60 },
      timestampOf: (raw) => (JSON.parse(raw) as { ts: number }).ts,
      now: () => clock.t,
      sleep: async (ms) => {
        slept.push(ms);
        clock.t += ms;
      },
    });
    expect(slept).toEqual([1_000, 1_000]);
    expect(shipper.batches.map((b) => [b.at, b.records.length])).toEqual([[0, 10], [1_000, 10], [2_000, 10]]);
    expect(s).toMatchObject({ sent: 30, firstEventTs: t0, lastEventTs: t0 + 120_009, untimed: 0 });
  });

  it('counts records the local check says ingest will reject', async () => {
    const clock = { t: 0 };
    const s = await replay({
      records: ['ok', 'nope', 'ok'], shipper: new RecordingShipper(clock), speed: { kind: 'max' }, timestampOf: () => undefined,
      precheck: (raw) => (raw === 'nope' ? 'unknown_format' : null),
    });
    expect(s.locallyInvalid).toEqual({ unknown_format: 1 });
  });
});

describe('readLines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-'));
  const text = 'line 1\r\n\n{"a":2}\nline 3';

  it.each([
    ['plain', 'logs.ndjson', Buffer.from(text)],
    ['gzip (by content, whatever the name)', 'logs.bin', gzipSync(text)],
  ])('reads non-empty lines of a %s file and reports bytes read', async (_kind, name, content) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    const src = readLines(path);
    const lines: string[] = [];
    for await (const l of src.lines) lines.push(l);
    expect(lines).toEqual(['line 1', '{"a":2}', 'line 3']);
    expect(src.totalBytes).toBe(content.length);
    expect(src.bytesRead()).toBe(content.length);
  });
  it('reports progress by the lines handed out, not by what the stream read ahead', async () => {
    const text = Array.from({ length: 1_000 }, (_, i) => String(i).padStart(99, '.')).join('\n') + '\n'; // 100 bytes a line
    for (const [name, content] of [['plain.log', Buffer.from(text)], ['zipped.log.gz', gzipSync(text)]] as const) {
      const path = join(dir, name);
      writeFileSync(path, content);
      const src = readLines(path);
      const it = src.lines[Symbol.asyncIterator]();
      for (let i = 0; i < 500; i++) await it.next();
      if (name === 'plain.log') expect(src.bytesRead()).toBe(50_000);
      else expect(src.bytesRead()).toBeLessThan(content.length);
      await it.return?.();
    }
  });
});

describe('HttpShipper', () => {
  let server: Server;
  let url = '';
  type Answer = (req: IncomingMessage, body: Buffer) => { status: number; headers?: Record<string, string>; body: unknown };
  let answers: Answer[] = [];
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        seen.push({ headers: req.headers, body: body.toString() });
        const answer: Answer = answers.shift() ?? (() => ({ status: 500, body: { message: 'no answer queued' } }));
        const a = answer(req, body);
        res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) });
        res.end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    seen.length = 0;
    answers = [];
  });

  const ok = (accepted: number, errors: { index: number; reason: string }[] = []) => () => ({
    status: 200, body: { accepted, rejected: errors.length, errors: errors.map((e) => ({ ...e, message: 'm' })) },
  });

  it('POSTs a batch as NDJSON to /v1/logs with the key, the forced format and gzip, and reads the reasons back', async () => {
    answers.push(ok(2, [{ index: 1, reason: 'invalid_status' }]));
    const shipper = new HttpShipper({ url, key: 'vgl_test_key', format: 'kong', contentType: 'application/x-ndjson', gzip: true });
    const r = await shipper.ship(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(r).toEqual({ accepted: 2, rejected: 1, reasons: { invalid_status: 1 } });
    expect(seen[0]!.body).toBe('{"a":1}\n{"b":2}\n{"c":3}\n');
    expect(seen[0]!.headers).toMatchObject({
      authorization: 'Bearer vgl_test_key', 'content-type': 'application/x-ndjson', 'x-vigil-log-format': 'kong', 'content-encoding': 'gzip',
    });
  });

  it('retries 429 after the Retry-After the server asked for, and 503 with backoff, then succeeds', async () => {
    answers.push(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { message: 'saturated' } }));
    answers.push(() => ({ status: 503, body: { message: 'store down' } }));
    answers.push(ok(1));
    const waits: number[] = [];
    const shipper = new HttpShipper({ url, key: 'k', contentType: 'text/plain', backoffMs: 100, sleep: async (ms) => void waits.push(ms) });
    expect(await shipper.ship(['x'])).toEqual({ accepted: 1, rejected: 0, reasons: {} });
    expect(waits).toEqual([2_000, 200]);
    expect(seen).toHaveLength(3);
  });

  it('stops at once on a refused key, with the status and the server message', async () => {
    answers.push(() => ({ status: 401, body: { message: 'invalid API key' } }));
    const shipper = new HttpShipper({ url, key: 'bad', contentType: 'text/plain', sleep: async () => {} });
    const err = await shipper.ship(['x']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalShipError);
    expect(err).toMatchObject({ status: 401, serverMessage: 'invalid API key' });
    expect(seen).toHaveLength(1);
  });

  it('sends JSON records as NDJSON and text lines as text/plain when no content type is forced', async () => {
    answers.push(ok(1), ok(1));
    const shipper = new HttpShipper({ url, key: 'k' });
    await shipper.ship(['  {"a":1}']);
    await shipper.ship(['203.0.113.7 - - [14/May/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"']);
    expect(seen.map((s) => s.headers['content-type'])).toEqual(['application/x-ndjson', 'text/plain']);
    expect(contentTypeOf(undefined)).toBe('text/plain');
  });

  it('names the network failure when the server cannot be reached', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const closed = new HttpShipper({ url: `http://127.0.0.1:${port}/`, key: 'k', contentType: 'text/plain', maxAttempts: 2, sleep: async () => {} });
    await expect(closed.ship(['x'])).rejects.toThrow(/still failing after 2 attempts \(last: ECONNREFUSED\)/);
  });

  it('gives up after maxAttempts when the server stays saturated', async () => {
    for (let i = 0; i < 3; i++) answers.push(() => ({ status: 429, body: {} }));
    const shipper = new HttpShipper({ url, key: 'k', contentType: 'text/plain', maxAttempts: 3, sleep: async () => {} });
    await expect(shipper.ship(['x'])).rejects.toThrow(/still failing after 3 attempts \(last: 429\)/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2024, 4, 14, 10, 0, 0);
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs(new Date(now + 5_000).toUTCString(), now)).toBe(5_000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe(replaySummaryText.name, () => {
  const base: ReplayCommandResult = {
    sent: 1_000, accepted: 990, rejected: 10, reasons: { invalid_status: 10 }, locallyInvalid: { invalid_status: 10 }, untimed: 0,
    firstEventTs: Date.UTC(2024, 4, 14, 10), lastEventTs: Date.UTC(2024, 4, 14, 11), wallMs: 2_000,
    target: 'http://localhost:8080/v1/logs', kafka: false,
  };

  it('says what ingest accepted and rejected over HTTP, why, and the event time covered', () => {
    expect(replaySummaryText(base).split('\n')).toEqual([
      '990 accepted, 10 rejected (dead-lettered) of 1000 records in 2.0 s (500 events/s) → http://localhost:8080/v1/logs',
      '  rejected: invalid_status 10',
      '  event time 2024-05-14T10:00:00Z … 2024-05-14T11:00:00Z',
    ]);
  });

  it('for Kafka, counts what the broker took and what the local ingest check says will be rejected', () => {
    const r = { ...base, accepted: 1_000, rejected: 0, reasons: {}, untimed: 3, target: 'kafka k1:9092 topic raw', kafka: true };
    expect(replaySummaryText(r).split('\n')).toEqual([
      '1000 accepted by the broker (ingest parses them later) of 1000 records in 2.0 s (500 events/s) → kafka k1:9092 topic raw',
      '  ingest will reject (local check): invalid_status 10',
      '  event time 2024-05-14T10:00:00Z … 2024-05-14T11:00:00Z (3 records without a readable timestamp)',
    ]);
  });
});
