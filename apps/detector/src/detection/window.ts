/**
 * Window aggregation: what one entity did in one event-time window, as mergeable pieces, so partial windows built
 * on one instance (a batch) can be shipped to the instance that owns the entity and merged there.
 *
 * - counts: requests, 401/403, 404, 429, 5xx, bytes out;
 * - distinct endpoints, paths, IPs, tokens, failing IPs: exact up to a cap, then a HyperLogLog estimate;
 * - latency p95: a log-bucket sketch (relative error ≈ 2.5 %);
 * - top contributors (IPs, paths, statuses, routes, failing IPs): bounded space-saving counters;
 * - activity: which of 32 equal slices of the window saw traffic (how steady the rate was);
 * - sample event ids (first few, and first few of the failures).
 *
 * Pure: no I/O, no clock.
 */

export interface WindowEvent {
  id: string;
  ts: number;
  clientIp: string;
  method: string;
  path: string;
  route: string;
  status: number;
  latencyMs: number;
  bytesOut: number;
  tokenId: string;
  country: string;
  asn: number;
}

export const DISTINCT_EXACT_CAP = 64;
const HLL_P = 10;
const HLL_M = 1 << HLL_P;
const TOP_K = 20;
const SAMPLES = 10;
const SLICES = 32;
const SKETCH_GAMMA = 1.05;
const LOG_GAMMA = Math.log(SKETCH_GAMMA);

/** 32-bit FNV-1a then a murmur3 finaliser (good avalanche for HyperLogLog). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- distinct values ----------------------------------------------------------------------------

export type DistinctJson = { s: string[] } | { h: string };

/** Exact set up to `cap` values, then a HyperLogLog (p = 10, ≈ 3 % standard error). Mergeable. */
export class BoundedDistinct {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;

  constructor(private readonly cap = DISTINCT_EXACT_CAP) {}

  add(value: string): void {
    if (this.exact) {
      this.exact.add(value);
      if (this.exact.size > this.cap) this.toSketch();
      return;
    }
    this.addHash(hash32(value));
  }

  has(value: string): boolean | undefined {
    return this.exact ? this.exact.has(value) : undefined;
  }

  /** Exact values while exact (at most `cap`), else null. */
  values(): string[] | null {
    return this.exact ? [...this.exact] : null;
  }

  get estimated(): boolean {
    return this.exact === null;
  }

  get size(): number {
    if (this.exact) return this.exact.size;
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      const v = r[i] as number;
      sum += 2 ** -v;
      if (v === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const raw = (alpha * HLL_M * HLL_M) / sum;
    if (raw <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(raw);
  }

  merge(other: BoundedDistinct): void {
    if (other.exact) {
      for (const v of other.exact) this.add(v);
      return;
    }
    if (this.exact) this.toSketch();
    const r = this.registers!;
    const o = other.registers!;
    for (let i = 0; i < HLL_M; i++) if ((o[i] as number) > (r[i] as number)) r[i] = o[i] as number;
  }

  toJSON(): DistinctJson {
    return this.exact ? { s: [...this.exact] } : { h: Buffer.from(this.registers!).toString('base64') };
  }

  static fromJSON(j: DistinctJson, cap = DISTINCT_EXACT_CAP): BoundedDistinct {
    const d = new BoundedDistinct(cap);
    if ('s' in j) for (const v of j.s) d.add(v);
    else {
      d.exact = null;
      const bytes = Buffer.from(j.h, 'base64');
      if (bytes.length !== HLL_M) throw new Error(`distinct sketch: expected ${HLL_M} registers, got ${bytes.length}`);
      d.registers = new Uint8Array(bytes);
    }
    return d;
  }

  private toSketch(): void {
    const values = this.exact ?? [];
    this.exact = null;
    this.registers = new Uint8Array(HLL_M);
    for (const v of values) this.addHash(hash32(v));
  }

  private addHash(h: number): void {
    const idx = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) >>> 0;
    const rank = rest === 0 ? 32 - HLL_P + 1 : Math.clz32(rest) + 1;
    const r = this.registers!;
    if (rank > (r[idx] as number)) r[idx] = rank;
  }
}

// ---- top contributors ---------------------------------------------------------------------------

/** Space-saving top-k: exact while fewer than k keys, then counts are upper bounds. Mergeable (approximately). */
export class TopCounter {
  readonly counts = new Map<string, number>();

  constructor(private readonly k = TOP_K) {}

  add(key: string, n = 1): void {
    const c = this.counts.get(key);
    if (c !== undefined) {
      this.counts.set(key, c + n);
      return;
    }
    if (this.counts.size < this.k) {
      this.counts.set(key, n);
      return;
    }
    let minKey = '';
    let min = Infinity;
    for (const [key2, v] of this.counts) if (v < min) [minKey, min] = [key2, v];
    this.counts.delete(minKey);
    this.counts.set(key, min + n);
  }

  merge(other: TopCounter): void {
    for (const [k, v] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + v);
    if (this.counts.size > this.k) {
      const keep = this.top(this.k);
      this.counts.clear();
      for (const { value, count } of keep) this.counts.set(value, count);
    }
  }

  /** Highest counts first; ties by key so the order is deterministic. */
  top(n: number): { value: string; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }

  max(): number {
    let m = 0;
    for (const v of this.counts.values()) if (v > m) m = v;
    return m;
  }

  toJSON(): [string, number][] {
    return [...this.counts];
  }

  static fromJSON(j: [string, number][], k = TOP_K): TopCounter {
    const t = new TopCounter(k);
    for (const [key, v] of j) t.add(key, v);
    return t;
  }
}

// ---- latency sketch -----------------------------------------------------------------------------

/** Log-bucket quantile sketch: value v lands in bucket ceil(log_γ(v + 1)); quantiles within ≈ (γ − 1)/2. */
export class LatencySketch {
  readonly buckets = new Map<number, number>();
  total = 0;

  add(ms: number, n = 1): void {
    const b = Math.ceil(Math.log1p(Math.max(0, ms)) / LOG_GAMMA);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
    this.total += n;
  }

  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k) as number;
      if (seen >= rank) return k === 0 ? 0 : Math.expm1(((k - 0.5) * LOG_GAMMA));
    }
    return Math.expm1(((keys[keys.length - 1] as number) - 0.5) * LOG_GAMMA);
  }

  merge(other: LatencySketch): void {
    for (const [k, v] of other.buckets) this.buckets.set(k, (this.buckets.get(k) ?? 0) + v);
    this.total += other.total;
  }

  toJSON(): [number, number][] {
    return [...this.buckets];
  }

  static fromJSON(j: [number, number][]): LatencySketch {
    const s = new LatencySketch();
    for (const [k, v] of j) {
      s.buckets.set(k, (s.buckets.get(k) ?? 0) + v);
      s.total += v;
    }
    return s;
  }
}

// ---- the window -----------------------------------------------------------------------------------

export function isAuthFailure(status: number): boolean {
  return status === 401 || status === 403;
}

/** Endpoint entity: method + route template (the path when the gateway gave no route). */
export function endpointOf(e: Pick<WindowEvent, 'method' | 'route' | 'path'>): string {
  return `${e.method.toUpperCase()} ${e.route || e.path}`;
}

export interface WindowAggJson {
  v: 1;
  n: number;
  a: number;
  nf: number;
  tm: number;
  e5: number;
  bo: number;
  t0: number;
  t1: number;
  act: number;
  ws: number;
  wl: number;
  d: Partial<Record<DistinctField, DistinctJson>>;
  top: Partial<Record<TopField, [string, number][]>>;
  lat: [number, number][];
  asn: number[];
  cc: string[];
  smp: string[];
  fsmp: string[];
}

export type DistinctField = 'paths' | 'ips' | 'tokens' | 'endpoints' | 'failIps';
export type TopField = 'ips' | 'paths' | 'statuses' | 'routes' | 'failIps';
const DISTINCT_FIELDS: readonly DistinctField[] = ['paths', 'ips', 'tokens', 'endpoints', 'failIps'];
const TOP_FIELDS: readonly TopField[] = ['ips', 'paths', 'statuses', 'routes', 'failIps'];
const SMALL_SET_CAP = 16;

/** One entity's metrics over one window [windowStart, windowStart + windowMs). */
export class WindowAggregate {
  requests = 0;
  authFailures = 0;
  notFound = 0;
  tooMany = 0;
  errors5xx = 0;
  bytesOut = 0;
  firstTs = Infinity;
  lastTs = -Infinity;
  /** Bit i set: slice i (of 32) of the window saw at least one request. */
  activity = 0;
  private readonly distinct = new Map<DistinctField, BoundedDistinct>();
  private readonly tops = new Map<TopField, TopCounter>();
  readonly latency = new LatencySketch();
  /** Bounded small sets (≤ 16): ASNs and countries seen. */
  readonly asns = new Set<number>();
  readonly countries = new Set<string>();
  readonly samples: string[] = [];
  readonly failureSamples: string[] = [];

  constructor(
    readonly windowStart: number,
    readonly windowMs: number,
  ) {}

  add(e: WindowEvent): void {
    this.requests += 1;
    const s = e.status;
    const failed = isAuthFailure(s);
    if (failed) this.authFailures += 1;
    if (s === 404) this.notFound += 1;
    if (s === 429) this.tooMany += 1;
    if (s >= 500) this.errors5xx += 1;
    this.bytesOut += e.bytesOut;
    if (e.ts < this.firstTs) this.firstTs = e.ts;
    if (e.ts > this.lastTs) this.lastTs = e.ts;
    const slice = Math.min(SLICES - 1, Math.max(0, Math.floor(((e.ts - this.windowStart) / this.windowMs) * SLICES)));
    this.activity = (this.activity | (1 << slice)) >>> 0;
    this.d('paths').add(e.path);
    this.d('ips').add(e.clientIp);
    if (e.tokenId) this.d('tokens').add(e.tokenId);
    this.d('endpoints').add(endpointOf(e));
    this.t('ips').add(e.clientIp);
    this.t('paths').add(e.path);
    this.t('statuses').add(String(s));
    this.t('routes').add(e.route || e.path);
    if (failed) {
      this.d('failIps').add(e.clientIp);
      this.t('failIps').add(e.clientIp);
    }
    this.latency.add(e.latencyMs);
    if (e.asn > 0 && this.asns.size < SMALL_SET_CAP) this.asns.add(e.asn);
    if (e.country && this.countries.size < SMALL_SET_CAP) this.countries.add(e.country);
    if (this.samples.length < SAMPLES) this.samples.push(e.id);
    if ((failed || s === 404 || s >= 500) && this.failureSamples.length < SAMPLES) this.failureSamples.push(e.id);
  }

  merge(o: WindowAggregate): void {
    this.requests += o.requests;
    this.authFailures += o.authFailures;
    this.notFound += o.notFound;
    this.tooMany += o.tooMany;
    this.errors5xx += o.errors5xx;
    this.bytesOut += o.bytesOut;
    this.firstTs = Math.min(this.firstTs, o.firstTs);
    this.lastTs = Math.max(this.lastTs, o.lastTs);
    this.activity = (this.activity | o.activity) >>> 0;
    for (const [f, d] of o.distinct) this.d(f).merge(d);
    for (const [f, t] of o.tops) this.t(f).merge(t);
    this.latency.merge(o.latency);
    for (const a of o.asns) if (this.asns.size < SMALL_SET_CAP) this.asns.add(a);
    for (const c of o.countries) if (this.countries.size < SMALL_SET_CAP) this.countries.add(c);
    for (const id of o.samples) if (this.samples.length < SAMPLES && !this.samples.includes(id)) this.samples.push(id);
    for (const id of o.failureSamples) if (this.failureSamples.length < SAMPLES && !this.failureSamples.includes(id)) this.failureSamples.push(id);
  }

  distinctCount(f: DistinctField): number {
    return this.distinct.get(f)?.size ?? 0;
  }

  distinctSet(f: DistinctField): BoundedDistinct | undefined {
    return this.distinct.get(f);
  }

  top(f: TopField, n = 5): { value: string; count: number }[] {
    return this.tops.get(f)?.top(n) ?? [];
  }

  topMax(f: TopField): number {
    return this.tops.get(f)?.max() ?? 0;
  }

  latencyP95(): number {
    return this.latency.quantile(0.95);
  }

  /** Share (0–1) of the window's 32 slices that saw traffic. */
  activeFraction(): number {
    let bits = this.activity;
    let n = 0;
    while (bits) {
      n += bits & 1;
      bits >>>= 1;
    }
    return n / SLICES;
  }

  toJSON(): WindowAggJson {
    const d: WindowAggJson['d'] = {};
    for (const [f, v] of this.distinct) d[f] = v.toJSON();
    const top: WindowAggJson['top'] = {};
    for (const [f, v] of this.tops) top[f] = v.toJSON();
    return {
      v: 1,
      n: this.requests,
      a: this.authFailures,
      nf: this.notFound,
      tm: this.tooMany,
      e5: this.errors5xx,
      bo: this.bytesOut,
      t0: this.firstTs,
      t1: this.lastTs,
      act: this.activity,
      ws: this.windowStart,
      wl: this.windowMs,
      d,
      top,
      lat: this.latency.toJSON(),
      asn: [...this.asns],
      cc: [...this.countries],
      smp: [...this.samples],
      fsmp: [...this.failureSamples],
    };
  }

  static fromJSON(j: WindowAggJson): WindowAggregate {
    if (j.v !== 1) throw new Error(`window aggregate: unknown version ${String(j.v)}`);
    const w = new WindowAggregate(j.ws, j.wl);
    w.requests = j.n;
    w.authFailures = j.a;
    w.notFound = j.nf;
    w.tooMany = j.tm;
    w.errors5xx = j.e5;
    w.bytesOut = j.bo;
    w.firstTs = j.t0;
    w.lastTs = j.t1;
    w.activity = j.act >>> 0;
    for (const f of DISTINCT_FIELDS) {
      const v = j.d[f];
      if (v) w.distinct.set(f, BoundedDistinct.fromJSON(v));
    }
    for (const f of TOP_FIELDS) {
      const v = j.top[f];
      if (v) w.tops.set(f, TopCounter.fromJSON(v));
    }
    w.latency.merge(LatencySketch.fromJSON(j.lat));
    for (const a of j.asn.slice(0, SMALL_SET_CAP)) w.asns.add(a);
    for (const c of j.cc.slice(0, SMALL_SET_CAP)) w.countries.add(c);
    w.samples.push(...j.smp.slice(0, SAMPLES));
    w.failureSamples.push(...j.fsmp.slice(0, SAMPLES));
    return w;
  }

  private d(f: DistinctField): BoundedDistinct {
    let v = this.distinct.get(f);
    if (!v) this.distinct.set(f, (v = new BoundedDistinct()));
    return v;
  }

  private t(f: TopField): TopCounter {
    let v = this.tops.get(f);
    if (!v) this.tops.set(f, (v = new TopCounter()));
    return v;
  }
}

/** Start of the window that contains `ts` (windows aligned to the epoch). */
export function windowStartOf(ts: number, windowMs: number): number {
  return Math.floor(ts / windowMs) * windowMs;
}

/** Per-partition event-time watermark: max event time seen minus the allowed lateness. */
export class Watermark {
  private maxTs = -Infinity;

  constructor(private readonly latenessMs: number, maxTs?: number) {
    if (maxTs !== undefined) this.maxTs = maxTs;
  }

  observe(ts: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
  }

  get maxEventTime(): number {
    return this.maxTs;
  }

  /** Windows ending at or before this are closed. */
  get value(): number {
    return this.maxTs - this.latenessMs;
  }

  isClosed(windowStart: number, windowMs: number): boolean {
    return windowStart + windowMs <= this.value;
  }
}
