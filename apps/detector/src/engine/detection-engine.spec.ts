import { describe, expect, it } from '@jest/globals';
import type { AccessEvent, Anomaly } from '@vigil/contracts';
import { DEFAULT_DETECTORS_CONFIG, DetectorsConfig } from '../detectors/detector-config.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import { anomalyId, DetectionEngine, type OffsetEvent } from './detection-engine.js';
import type { PartitionState } from './partition-state.js';

const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0); // a Tuesday
const BACKGROUND_WINDOWS = 30;

/** Deterministic PRNG (mulberry32) so the "normal" traffic is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
function ev(o: Partial<AccessEvent>): AccessEvent {
  seq += 1;
  return {
    v: 1, id: `e${seq}`, tenant: 'acme', ts: T0, format: 'kong', clientIp: '203.0.113.1', method: 'GET', path: '/v1/orders/1', query: '',
    route: '/v1/orders/:id', status: 200, latencyMs: 30, bytesIn: 100, bytesOut: 2_000, userAgent: 'app/1.0', apiVersion: 'v1', tls: 'TLSv1.3',
    tokenId: '', country: 'DE', asn: 3320, requestId: '', host: 'api.acme.example', ...o,
  };
}

/** Twenty users, each an IP with its own token, browsing orders and products and logging in now and then. */
function background(minute: number, random: () => number): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let u = 0; u < 20; u++) {
    const count = 6 + Math.floor(random() * 5);
    for (let i = 0; i < count; i++) {
      const r = random();
      const [method, route, path] =
        r < 0.5 ? ['GET', '/v1/orders/:id', `/v1/orders/${Math.floor(random() * 50)}`] : r < 0.9 ? ['GET', '/v1/products/:id', `/v1/products/${Math.floor(random() * 30)}`] : ['POST', '/v1/login', '/v1/login'];
      out.push(
        ev({
          ts: T0 + minute * W + Math.floor(random() * W),
          clientIp: `203.0.113.${u + 1}`,
          tokenId: `tk_user_${u}`,
          method,
          route,
          path,
          status: route === '/v1/login' && random() < 0.1 ? 401 : 200,
          latencyMs: 20 + random() * 40,
          bytesOut: 1_000 + Math.floor(random() * 3_000),
        }),
      );
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** Stage 1 (IP partition) and stage 2 (re-keyed partition) wired together, as the two consumers do. */
class Harness {
  readonly engine: DetectionEngine;
  s1: PartitionState;
  s2: PartitionState;
  readonly anomalies: Anomaly[] = [];
  offset1 = 0;
  offset2 = 0;

  constructor(detectors: DetectorsConfig = DEFAULT_DETECTORS_CONFIG, maxEntities = 100_000) {
    this.engine = new DetectionEngine({ windowMs: W, latenessMs: 5_000, maxEntities, idleTtlMs: 86_400_000, detectors });
    this.s1 = this.engine.newPartition('access', 0);
    this.s2 = this.engine.newPartition('rekeyed', 0);
  }

  feed(events: readonly AccessEvent[]): void {
    const inputs: OffsetEvent[] = events.map((event) => ({ offset: String(this.offset1++), event }));
    this.feedAt(inputs);
  }

  feedAt(inputs: readonly OffsetEvent[]): void {
    const r = this.engine.processAccessEvents(this.s1, inputs);
    this.anomalies.push(...r.anomalies);
    this.anomalies.push(...this.engine.processPartials(this.s2, r.partials.map((partial) => ({ offset: String(this.offset2++), partial }))));
  }

  /** Background for the learning windows, then `attack` mixed into one more window, then two windows to close it. */
  run(attack: (minute: number) => AccessEvent[]): Anomaly[] {
    const random = rng(42);
    for (let m = 0; m < BACKGROUND_WINDOWS; m++) this.feed(background(m, random));
    const before = this.anomalies.length;
    const m = BACKGROUND_WINDOWS;
    this.feed([...background(m, random), ...attack(m)].sort((a, b) => a.ts - b.ts));
    this.feed(background(m + 1, random));
    this.feed(background(m + 2, random));
    return this.anomalies.slice(before);
  }
}

const at = (minute: number, i: number, n: number): number => T0 + minute * W + Math.floor((i * W) / n);
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const cfg = (o: object): DetectorsConfig => DetectorsConfig.parse(o);

describe(DetectionEngine.name, () => {
  it('learns normal traffic without firing anything', () => {
    const h = new Harness();
    const fired = h.run(() => []);
    expect(h.anomalies.map((a) => `${a.detector} ${a.entity}`)).toEqual([]);
    expect(fired).toEqual([]);
  });

  const patterns: [string, string, string, (m: number) => AccessEvent[], DetectorsConfig?][] = [
    ['brute-force', 'ip', '198.51.100.66', (m) => times(200, (i) => ev({ ts: at(m, i, 200), clientIp: '198.51.100.66', method: 'POST', route: '/v1/login', path: '/v1/login', status: 401 }))],
    [
      'credential-stuffing',
      'endpoint',
      'POST /v1/login',
      (m) => times(120, (i) => ev({ ts: at(m, i, 120), clientIp: `192.0.2.${(i % 60) + 1}`, method: 'POST', route: '/v1/login', path: '/v1/login', status: 401 })),
    ],
    ['enumeration', 'ip', '198.51.100.77', (m) => times(150, (i) => ev({ ts: at(m, i, 150), clientIp: '198.51.100.77', path: `/admin/backup-${i}.zip`, route: '', status: 404 }))],
    ['scraping', 'ip', '198.51.100.88', (m) => times(300, (i) => ev({ ts: at(m, i, 300), clientIp: '198.51.100.88', route: '/v1/products/:id', path: `/v1/products/${1000 + i}` }))],
    ['rate-spike', 'token', 'tk_user_3', (m) => times(600, (i) => ev({ ts: at(m, i, 600), clientIp: '203.0.113.4', tokenId: 'tk_user_3', path: `/v1/orders/${i % 50}` }))],
    ['token-new-location', 'token', 'tk_user_5', (m) => [ev({ ts: at(m, 1, 2), clientIp: '177.10.20.30', tokenId: 'tk_user_5', country: 'BR', asn: 28573 })]],
    ['token-sharing', 'token', 'tk_user_6', (m) => times(40, (i) => ev({ ts: at(m, i, 40), clientIp: `100.64.${i}.9`, tokenId: 'tk_user_6' }))],
    ['exfiltration', 'token', 'tk_user_7', (m) => times(20, (i) => ev({ ts: at(m, i, 20), clientIp: '203.0.113.8', tokenId: 'tk_user_7', path: '/v1/export', route: '/v1/export', bytesOut: 20 * 1024 * 1024 }))],
    ['error-rate', 'endpoint', 'GET /v1/products/:id', (m) => times(100, (i) => ev({ ts: at(m, i, 100), clientIp: `203.0.113.${(i % 20) + 1}`, route: '/v1/products/:id', path: `/v1/products/${i % 30}`, status: 503 }))],
    ['latency', 'endpoint', 'GET /v1/orders/:id', (m) => times(200, (i) => ev({ ts: at(m, i, 200), clientIp: `203.0.113.${(i % 20) + 1}`, path: `/v1/orders/${i % 50}`, latencyMs: 2_500 + i }))],
    ['volumetric-flood', 'endpoint', 'GET /v1/orders/:id', (m) => times(3_000, (i) => ev({ ts: at(m, i, 3_000), clientIp: `100.70.${i % 250}.${Math.floor(i / 250)}`, path: `/v1/orders/${i % 50}` }))],
    ['injection', 'ip', '198.51.100.99', (m) => [ev({ ts: at(m, 1, 2), clientIp: '198.51.100.99', path: '/v1/products', query: "id=1'%20OR%20'1'%3D'1" })]],
    ['deprecated-api', 'token_ip', 'tk_user_2|203.0.113.3', (m) => [ev({ ts: at(m, 1, 2), clientIp: '203.0.113.3', tokenId: 'tk_user_2', apiVersion: 'v0' })], cfg({ deprecatedApi: { versions: ['v0'] } })],
    ['insecure-transport', 'ip', '203.0.113.50', (m) => [ev({ ts: at(m, 1, 2), clientIp: '203.0.113.50', tls: 'TLSv1.0' })]],
    [
      'token-allowlist',
      'token_ip',
      'tk_partner|203.0.113.9',
      (m) => [ev({ ts: at(m, 1, 2), clientIp: '203.0.113.9', tokenId: 'tk_partner' })],
      cfg({ tokenAllowlist: { allowlists: { tk_partner: ['10.0.0.0/8', '2001:db8::/32'] } } }),
    ],
  ];
  // every row gets its config explicitly (a missing last argument would be jest's done callback)
  it.each(patterns.map(([d, t, e, attack, c]) => [d, t, e, attack, c ?? DEFAULT_DETECTORS_CONFIG] as const))('%s fires on its attack pattern (%s %s)', (detector, entityType, entity, attack, detectors) => {
    const h = new Harness(detectors);
    const fired = h.run(attack);
    const hits = fired.filter((a) => a.detector === detector);
    // one anomaly per entity (several entities may rightly fire: a token's spike is also its IP's)
    expect(hits.map((a) => [a.entityType, a.entity])).toContainEqual([entityType, entity]);
    expect(new Set(hits.map((a) => a.entity)).size).toBe(hits.length);
    const a = hits.find((x) => x.entity === entity)!;
    expect(a.windowStart).toBe(T0 + BACKGROUND_WINDOWS * W);
    expect(a.id).toBe(anomalyId(detector, 'acme', a.entityType, a.entity, a.windowStart));
    expect(a.explanation.length).toBeGreaterThan(40);
    expect(a.sampleEventIds.length).toBeGreaterThan(0);
    // nothing fired during the learning windows
    expect(h.anomalies.filter((x) => x.windowStart < a.windowStart)).toEqual([]);
  });

  it('allows the token from inside its allowlist', () => {
    const h = new Harness(cfg({ tokenAllowlist: { allowlists: { tk_partner: ['10.0.0.0/8'] } } }));
    const fired = h.run((m) => [ev({ ts: at(m, 1, 2), clientIp: '10.20.30.40', tokenId: 'tk_partner' })]);
    expect(fired.filter((a) => a.detector === 'token-allowlist')).toEqual([]);
  });

  it('fires a brute force early, once, with an explanation a person can act on', () => {
    const h = new Harness();
    const fired = h.run((m) => times(200, (i) => ev({ ts: at(m, i, 200), clientIp: '198.51.100.66', method: 'POST', route: '/v1/login', path: '/v1/login', status: 401 })));
    const bf = fired.filter((a) => a.detector === 'brute-force');
    expect(bf).toHaveLength(1);
    const a = bf[0]!;
    expect(a.early).toBe(true);
    expect(a.detectedAt).toBeLessThan(a.windowEnd);
    expect(a.observed).toBeLessThan(200);
    expect(a.explanation).toMatch(/^IP 198\.51\.100\.66 got \d+ 401\/403 responses out of \d+ requests \(100%\) in 1 min, mostly on \/v1\/login; expected 0 ± 0(\.\d)? at any time; likely password guessing/);
    expect(a.contributors.statuses[0]).toEqual({ value: '401', count: a.observed });
    expect(a.contributors.ips).toEqual([{ value: '198.51.100.66', count: a.observed }]);
  });

  it('explains a rate spike with the learned expectation ("expected 8 ± 3 at any time")', () => {
    const h = new Harness();
    const fired = h.run((m) => times(600, (i) => ev({ ts: at(m, i, 600), clientIp: '203.0.113.4', tokenId: 'tk_user_3', path: `/v1/orders/${i % 50}` })));
    const a = fired.find((x) => x.detector === 'rate-spike' && x.entityType === 'token')!;
    expect(a.explanation).toMatch(/^token tk_us… made \d{2,3} requests in 1 min; expected \d+(\.\d)? ± \d+(\.\d)? at any time$/);
    expect(a.expected).toBeGreaterThan(5);
    expect(a.expected).toBeLessThan(12);
  });

  it('drops events for windows already closed and counts them as late', () => {
    const h = new Harness();
    h.feed(background(0, rng(1)));
    h.feed(background(1, rng(2)));
    h.feed(background(2, rng(3)));
    const late = h.s1.late;
    h.feed([ev({ ts: T0 + 10_000 })]);
    expect(h.s1.late).toBe(late + 1);
  });

  it('keeps at most maxEntities idle entities, forgetting the least recently active first', () => {
    const h = new Harness(DEFAULT_DETECTORS_CONFIG, 30);
    // ten minutes, twenty new anonymous IPs each minute
    for (let m = 0; m < 10; m++) h.feed(times(20, (u) => ev({ ts: T0 + m * W + u * 1000, clientIp: `10.${m}.0.${u}` })));
    const hot = h.s1.hot.size + h.s2.hot.size;
    expect(h.engine.budget.count).toBeLessThanOrEqual(30 + hot);
    expect(h.engine.budget.evicted).toBeGreaterThanOrEqual(200 - 30 - hot - 4);
    expect(h.engine.inspect(h.s1, 'acme', 'ip', '10.8.0.19', 'requests', T0)).not.toBeNull(); // most recent: kept
    expect(h.engine.inspect(h.s1, 'acme', 'ip', '10.0.0.3', 'requests', T0)).toBeNull(); // oldest: evicted
  });

  it('restores from a checkpoint with the same baselines, and a replay duplicates no anomaly', () => {
    const h = new Harness();
    const random = rng(42);
    for (let m = 0; m < BACKGROUND_WINDOWS; m++) h.feed(background(m, random));
    const ws = T0 + BACKGROUND_WINDOWS * W;
    // half of an attack window, then a checkpoint (as on revoke), then the rest
    const attack = times(200, (i) => ev({ ts: at(BACKGROUND_WINDOWS, i, 200), clientIp: '198.51.100.66', method: 'POST', route: '/v1/login', path: '/v1/login', status: 401 }));
    const inputs = attack.map((event) => ({ offset: String(h.offset1++), event }));
    h.feedAt(inputs.slice(0, 100));
    const learned = h.engine.inspect(h.s1, 'acme', 'ip', '203.0.113.4', 'requests', ws, 50)!;
    expect(learned.windows).toBe(BACKGROUND_WINDOWS);
    const { bytes } = encodeCheckpoint(h.engine, h.s1);
    const firstRun = h.anomalies.map((a) => a.id);
    expect(firstRun.length).toBeGreaterThan(0);

    const restored = decodeCheckpoint(h.engine, bytes);
    expect(restored.meta.resumeOffset).toBe(inputs[0]!.offset); // the open window is rebuilt from its first event
    h.s1 = restored.state;
    expect(h.engine.inspect(h.s1, 'acme', 'ip', '203.0.113.4', 'requests', ws, 50)).toEqual(learned);

    const before = h.anomalies.length;
    h.feedAt(inputs); // replay from the resume offset, through the rest
    h.feed(background(BACKGROUND_WINDOWS + 1, random));
    h.feed(background(BACKGROUND_WINDOWS + 2, random));
    const ids = h.anomalies.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(h.anomalies.slice(before).filter((a) => a.detector === 'brute-force')).toEqual([]);
  });
});
