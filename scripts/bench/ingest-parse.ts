/**
 * Ingest parser throughput: parse + normalise realistic gateway records on one core.
 *
 *   npx tsx scripts/bench/ingest-parse.ts [--lines 300000] [--formats kong,nginx,...] [--chunk 10000] [--input decoded|generated]
 *
 * The script collects the generator's garbage between chunks, outside the timed region (it turns on V8's gc()
 * itself when node was not started with --expose-gc; before it did, `npm run bench:ingest` timed that garbage too).
 *
 * Per format it generates `--lines` records (in chunks, so the input does not dominate memory), parses them in
 * batches of 1,000 and prints lines/s, lines per CPU-second and µs of CPU per line (with the part that is system
 * time), p50/p99 per-batch latency and the process's peak RSS so far.
 *
 * The floor is measured like the batches, after a gc(), and on lines of its own (a second random stream, so the
 * lines parseRecord gets are unchanged). It used to run straight after generation, so the scavenges that moved the
 * fresh lines and the generator's garbage were charged to it, and it parsed the very lines parseRecord got next.
 * The `sys µs` column shows what the first pass after a gc() pays for growing the heap again (page faults).
 *
 * Input (`--input`, default `decoded`): each line is the generator's text decoded from its UTF-8 bytes, as the Kafka
 * bus hands a record's value to ingest (`toString('utf8')` of the message's Buffer; the HTTP intake splits one decoded
 * body), i.e. a flat string. Until 2026-11-29 the bench parsed the generator's own strings, and JSON.stringify and
 * template literals return rope (cons) strings (V8 %DebugPrint: CONS_ONE_BYTE_STRING_TYPE against ONE_BYTE_STRING_TYPE
 * after decoding). The first JSON.parse or RegExp over a rope flattens it into a copy, and since the lines are in old
 * space by then the copy is allocated there: 10k Kong lines grew old space by 8.8 MB on the first JSON.parse pass and
 * by nothing on the second, and JSON.parse alone cost 10.4-13.0 against 3.2-5.8 µs/line on the second pass (load ~20);
 * on decoded lines the two passes cost the same (5.0-6.1 µs). That copy is what the old notes here called "the first
 * pass over fresh lines" (a second pass measured kong 9.5 instead of 14.3 µs/line). `--input generated` keeps the
 * old input for comparison. The decode itself is not timed: it is the Kafka consumer's cost, not the parser's.
 * Node flags: `npm run bench:ingest` runs this with the ingest service's own flags (`--single-threaded-gc
 * --max-semi-space-size=16`, package.json start:ingest). With single-threaded GC the scavenges run on the parsing
 * thread and no GC helper thread burns CPU on the other core, so lines per CPU-second is the rate of one core; with
 * node's default parallel scavenger the same loop measured 12-18 % fewer lines per CPU-second (2026-11-29).
 * --max-semi-space-size=16 is node 20's default here (new space 32 MiB with and without it); 8 and 32 measured no better.
 * Generation is not timed. Records vary per line: client IPs, XFF chains, ids in paths, statuses, latencies,
 * user agents, consumers; about 18% carry only a raw API key (no consumer: 2% plus the empty name among the six
 * consumers; the keyed-hash path, a new key each time, so since session 8 almost none enters the token-id cache: see the
 * doorkeeper in normalise/token.ts) and 2% a secret in the query.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LogFormat } from '@vigil/contracts';
import { parseRecord, type ParseContext } from '../../apps/ingest/src/parsers/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const LINES = Number(args.get('lines') ?? 300_000);
const CHUNK = Number(args.get('chunk') ?? 10_000);
const BATCH = 1_000;
const formats = (args.get('formats')?.split(',') ?? LogFormat.options).map((f) => LogFormat.parse(f));
/** 'decoded' (default): lines as the Kafka bus hands them over, decoded from bytes; 'generated': the generator's own strings. */
const INPUT = args.get('input') ?? 'decoded';
if (INPUT !== 'decoded' && INPUT !== 'generated') throw new Error(`--input decoded|generated, not ${INPUT}`);
/**
 * A line as ingest receives it: the Kafka bus decodes each message's value from its bytes (`toString('utf8')`), a flat
 * string. The generator's strings (JSON.stringify, template literals) are rope strings, which the first JSON.parse or
 * RegExp over them flattens into a copy in old space (the lines are old by then): that copy was timed as parsing.
 */
const asReceived = (line: string): string => (INPUT === 'decoded' ? Buffer.from(line, 'utf8').toString('utf8') : line);

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 42;
/** A second stream for the floor's lines, so the lines parseRecord gets are the same with or without the floor. */
let floorSeed = 4242;
function withSeed<T>(s: number, fn: () => T): [T, number] {
  const saved = seed;
  seed = s;
  const out = fn();
  const next = seed;
  seed = saved;
  return [out, next];
}
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');

const NOW = Date.UTC(2024, 4, 14, 11, 0, 0);
const UAS = ['python-requests/2.31', 'curl/8.5.0', 'okhttp/4.12.0', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36', 'Go-http-client/2.0', 'axios/1.6.8'];
const CONSUMERS = ['acme-bot', 'globex-sync', 'initech-app', 'umbrella-etl', 'hooli-mobile', ''];
const STATUSES = [200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 403, 404, 429, 500, 502];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];

interface Req {
  ts: number; client: string; proxy: string; method: string; path: string; query: string; status: number; latency: number;
  bytesIn: number; bytesOut: number; ua: string; consumer: string; rawKey: string; host: string; rid: string; tls: string;
}

function request(): Req {
  const r = rand();
  const path = pick([
    () => `/v1/orders/${int(1, 999_999)}`,
    () => `/v1/orders/${int(1, 99_999)}/items`,
    () => `/v2/users/${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
    () => `/v1/products`,
    () => `/v1/search`,
    () => `/2024-01-01/charges/ch_${hex(14)}`,
  ])();
  const consumer = r < 0.02 ? '' : pick(CONSUMERS);
  return {
    ts: NOW - int(0, 3_600_000),
    client: `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
    proxy: pick(['10.0.0.2', '10.0.0.3', '10.0.1.7']),
    method: pick(METHODS),
    path,
    query: rand() < 0.02 ? `limit=${int(1, 100)}&api_key=sk_live_${hex(24)}` : rand() < 0.5 ? `limit=${int(1, 100)}&page=${int(1, 20)}` : '',
    status: pick(STATUSES),
    latency: Math.round(rand() * 250_000) / 1000,
    bytesIn: int(150, 900),
    bytesOut: int(0, 20_000),
    ua: pick(UAS),
    consumer,
    rawKey: consumer === '' ? `sk_live_${hex(24)}` : '',
    host: pick(['api.example.com', 'api.acme.io']),
    rid: `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
    tls: pick(['TLSv1.3', 'TLSv1.3', 'TLSv1.2', '']),
  };
}

const target = (q: Req) => (q.query ? `${q.path}?${q.query}` : q.path);
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function clf(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MON[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const GENERATORS: Record<LogFormat, (q: Req) => string> = {
  kong: (q) =>
    JSON.stringify({
      request: {
        id: q.rid.replace(/-/g, ''), method: q.method, uri: target(q), url: `https://${q.host}:443${target(q)}`, size: q.bytesIn,
        querystring: {}, headers: {
          host: q.host, 'user-agent': q.ua, accept: '*/*', 'x-forwarded-for': q.client, 'x-forwarded-proto': 'https',
          ...(q.rawKey ? { apikey: q.rawKey } : {}),
        },
        ...(q.tls ? { tls: { version: q.tls, cipher: 'TLS_AES_256_GCM_SHA384', client_verify: 'NONE' } } : {}),
      },
      upstream_uri: target(q), response: { status: q.status, size: q.bytesOut, headers: { 'content-type': 'application/json' } },
      latencies: { kong: 1, proxy: Math.round(q.latency) - 1, request: Math.round(q.latency) },
      ...(q.consumer ? { consumer: { id: q.rid, username: q.consumer } } : {}),
      route: { id: 'c1b7a2f0-0d3e-4b5a-9c8d-7e6f5a4b3c2d', name: 'orders' }, service: { id: 'a3f1e2d4', name: 'orders-svc' },
      client_ip: q.proxy, started_at: q.ts,
    }),
  apisix: (q) =>
    JSON.stringify({
      request: {
        url: `https://${q.host}:443${target(q)}`, uri: target(q), method: q.method, size: q.bytesIn, querystring: {},
        headers: { host: q.host, 'user-agent': q.ua, 'x-forwarded-for': q.client, 'x-request-id': q.rid, ...(q.rawKey ? { 'x-api-key': q.rawKey } : {}) },
      },
      response: { status: q.status, size: q.bytesOut, headers: { 'content-type': 'application/json' } },
      server: { hostname: 'apisix-1', version: '3.9.0' }, upstream: '10.0.1.5:8080', upstream_latency: Math.round(q.latency), latency: q.latency,
      start_time: q.ts, client_ip: q.proxy, route_id: 'orders', ...(q.consumer ? { consumer: { username: q.consumer } } : {}),
    }),
  envoy: (q) =>
    JSON.stringify({
      start_time: new Date(q.ts).toISOString(), method: q.method, path: target(q), protocol: 'HTTP/1.1', response_code: q.status,
      response_flags: '-', bytes_received: 0, bytes_sent: q.bytesOut, duration: Math.round(q.latency), upstream_service_time: '3',
      x_forwarded_for: q.client, user_agent: q.ua, request_id: q.rid, authority: q.host, upstream_host: '10.0.1.5:8080',
      upstream_cluster: 'outbound|8080||orders', downstream_remote_address: `${q.proxy}:51234`, route_name: 'orders',
      downstream_tls_version: q.tls || null, x_consumer_username: q.consumer || null, x_api_key: q.rawKey || null,
    }),
  nginx: (q) =>
    `${q.proxy} - - [${clf(q.ts)}] "${q.method} ${target(q)} HTTP/1.1" ${q.status} ${q.bytesOut} "-" "${q.ua}" "${q.client}" ${(q.latency / 1000).toFixed(3)} "${q.consumer || '-'}"`,
  traefik: (q) =>
    JSON.stringify({
      ClientAddr: `${q.proxy}:51234`, ClientHost: q.proxy, ClientPort: '51234', ClientUsername: q.consumer || '-', DownstreamContentSize: q.bytesOut,
      DownstreamStatus: q.status, Duration: Math.round(q.latency * 1e6), OriginContentSize: q.bytesOut, OriginDuration: 1000, OriginStatus: q.status,
      Overhead: 1000, RequestAddr: q.host, RequestContentSize: 0, RequestCount: 1, RequestHost: q.host, RequestMethod: q.method,
      RequestPath: target(q), RequestPort: '-', RequestProtocol: 'HTTP/1.1', RequestScheme: 'https', RetryAttempts: 0, RouterName: 'orders@docker',
      ServiceAddr: '10.0.1.5:8080', ServiceName: 'orders@docker', ServiceURL: 'http://10.0.1.5:8080', StartUTC: new Date(q.ts).toISOString(),
      TLSVersion: q.tls.replace('TLSv', ''), entryPointName: 'websecure', level: 'info', msg: '', 'request_User-Agent': q.ua,
      'request_X-Forwarded-For': q.client, ...(q.rawKey ? { 'request_X-Api-Key': q.rawKey } : {}), time: new Date(q.ts).toISOString(),
    }),
  aws: (q) =>
    JSON.stringify({
      requestId: q.rid, ip: q.client, caller: '-', user: '-', requestTime: clf(q.ts), requestTimeEpoch: q.ts, httpMethod: q.method,
      resourcePath: q.path.replace(/\/\d+/, '/{id}'), path: q.path, status: String(q.status), protocol: 'HTTP/1.1', responseLength: String(q.bytesOut),
      responseLatency: String(Math.round(q.latency)), apiKeyId: q.consumer ? `k${q.consumer.length}x7a2c3p` : '-', principalId: q.consumer || '-',
      userAgent: q.ua, domainName: q.host, stage: 'prod',
    }),
  tyk: (q) =>
    JSON.stringify({
      Method: q.method, Host: q.host, Path: q.path, RawPath: q.path, ContentLength: 0, UserAgent: q.ua, Day: 14, Month: 5, Year: 2024, Hour: 10,
      ResponseCode: q.status, APIKey: q.rawKey || hex(32), TimeStamp: new Date(q.ts).toISOString(), APIVersion: 'Non Versioned', APIName: 'Orders API',
      APIID: '41433797848f41a558c1573d3e55a410', OrgID: '5e9d9544a1dcd60001d0ed20', OauthID: '', RequestTime: Math.round(q.latency),
      Latency: { total: Math.round(q.latency), upstream: 1 }, RawRequest: '', RawResponse: '', IPAddress: q.client,
      Geo: { Country: { ISOCode: 'NL' } }, Tags: [], Alias: q.consumer, TrackPath: false,
    }),
  vigil: (q) =>
    JSON.stringify({
      v: 1, ts: q.ts, clientIp: q.client, method: q.method, path: q.path, query: q.query, status: q.status, latencyMs: q.latency,
      bytesIn: q.bytesIn, bytesOut: q.bytesOut, userAgent: q.ua, tls: q.tls, tokenId: q.consumer, requestId: q.rid, host: q.host,
    }),
};

/** V8's gc(): the global one under --expose-gc, else turned on now (a fresh context picks the flag up). */
function exposeGc(): (() => void) | undefined {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global) return global;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = exposeGc();
const NGINX_FLOOR = /^(\S+) \S+ (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d+|-) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(.*)$/;

const ctx: ParseContext = {
  tenant: 'bench', now: NOW, trustedProxies: ['10.0.0.0/16', '192.168.0.0/16'], hashKey: 'bench-hash-key-0123456789abcdef',
};

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

console.log(`node ${process.version}, ${LINES} lines per format, batches of ${BATCH}`);
console.log("lines/s is wall clock; lines/cpu-s divides by this process's CPU time (fairer on a shared machine);");
console.log('floor/cpu-s is JSON.parse alone (nginx: the line regex alone) on as many other lines of the same generator;');
console.log('µs/line is CPU (user+system) per line, sys µs the system part');
if (!gc) console.log('(gc() unavailable: generator garbage is collected inside the timings)');
console.log('format   lines/s  lines/cpu-s  µs/line  sys µs  floor/cpu-s  p50 ms/batch  p99 ms/batch  rejected  avg bytes  peak RSS MiB');
for (const format of formats) {
  const gen = GENERATORS[format];
  // Warm up the JIT on a separate sample so the first batches are not compile time.
  for (let i = 0; i < 20_000; i++) parseRecord(gen(request()), ctx);
  const batchMs: number[] = [];
  let rejected = 0;
  let firstReject = '';
  let bytes = 0;
  let totalNs = 0n;
  let cpuUs = 0;
  let sysUs = 0;
  let floorUs = 0;
  for (let done = 0; done < LINES; done += CHUNK) {
    const n = Math.min(CHUNK, LINES - done);
    const lines = Array.from({ length: n }, () => asReceived(gen(request())));
    for (const l of lines) bytes += l.length;
    // The floor: what JSON.parse alone (or the nginx line regex) costs on as many lines of its own, after a gc() as the batches are.
    let floorLines: string[];
    [floorLines, floorSeed] = withSeed(floorSeed, () => Array.from({ length: n }, () => asReceived(gen(request()))));
    gc?.();
    const f0 = process.cpuUsage();
    if (format === 'nginx') for (const l of floorLines) NGINX_FLOOR.exec(l);
    else for (const l of floorLines) JSON.parse(l);
    const f = process.cpuUsage(f0);
    floorUs += f.user + f.system;
    floorLines = [];
    gc?.();
    for (let b = 0; b < n; b += BATCH) {
      const end = Math.min(n, b + BATCH);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = b; i < end; i++) {
        const r = parseRecord(lines[i]!, ctx);
        if (!r.ok) {
          rejected++;
          if (!firstReject) firstReject = `${r.reason}: ${r.message}`;
        }
      }
      const dt = process.hrtime.bigint() - t0;
      const c = process.cpuUsage(c0);
      cpuUs += c.user + c.system;
      sysUs += c.system;
      totalNs += dt;
      batchMs.push(Number(dt) / 1e6);
    }
  }
  batchMs.sort((a, b) => a - b);
  const perSec = Math.round(LINES / (Number(totalNs) / 1e9));
  const perCpuSec = Math.round(LINES / (cpuUs / 1e6));
  const usPerLine = (cpuUs / LINES).toFixed(2);
  const sysPerLine = (sysUs / LINES).toFixed(2);
  const floorPerCpuSec = Math.round(LINES / (floorUs / 1e6));
  const rssMiB = (process.resourceUsage().maxRSS / 1024).toFixed(0);
  console.log(
    `${format.padEnd(8)} ${String(perSec).padStart(8)}  ${String(perCpuSec).padStart(11)}  ${usPerLine.padStart(7)}  ${sysPerLine.padStart(6)}  ${String(floorPerCpuSec).padStart(11)}  ${quantile(batchMs, 0.5).toFixed(2).padStart(12)}  ${quantile(batchMs, 0.99).toFixed(2).padStart(12)}  ${String(rejected).padStart(8)}  ${String(Math.round(bytes / LINES)).padStart(9)}  ${rssMiB.padStart(12)}`,
  );
  if (firstReject) console.log(`         first rejection: ${firstReject}`);
}
