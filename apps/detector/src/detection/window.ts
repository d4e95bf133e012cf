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
  return fmix(fnv(FNV_OFFSET, s));
}

const FNV_OFFSET = 0x811c9dc5;

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash32(endpointOf(e)) without building the string (ASCII methods; anything else through the string). */
function endpointHash(method: string, routeOrPath: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < method.length; i++) {
    let c = method.charCodeAt(i);
    if (c >= 128) return hash32(`${method.toUpperCase()} ${routeOrPath}`);
    if (c >= 97 && c <= 122) c -= 32;
    h ^= c;
    h = Math.imul(h, 0x01000193);
  }
  h ^= 32;
  h = Math.imul(h, 0x01000193);
  return fmix(fnv(h, routeOrPath));
}

// ---- distinct values ----------------------------------------------------------------------------

/** Wire form: exact values (`s`), exact 32-bit hashes (`k`, fields whose values are never shown), or HLL registers (`h`). */
export type DistinctJson = { s: string[] } | { k: number[] } | { h: string };

/** Highest register value a hash can give (p = 10): sums of 2^−v over registers are then exact in a double. */
const HLL_MAX_RANK = 32 - HLL_P + 1;

/**
 * Exact up to `cap` values (as 32-bit hashes in one small typed array, plus the values themselves when `keepValues`),
 * then a HyperLogLog (p = 10, ≈ 3 % standard error; linear counting below 2.5 m, so small counts stay near exact).
 * Mergeable. No Set, no Map: one typed array that grows 4 → 64, then the 1 KiB of registers, whose harmonic sum and
 * zero count are kept up to date as registers rise (the early evaluation reads the count after every event).
 */
export class BoundedDistinct {
  private hashes: Uint32Array | null = null;
  private n = 0;
  private vals: string[] | null;
  private registers: Uint8Array | null = null;
  /** Σ 2^−register and the number of zero registers (valid while `registers` is set). */
  private sum = 0;
  private zeros = 0;
  /** Cached HLL estimate (−1: stale). */
  private estimate = -1;
  /** Hash table of slots (slot + 1) over `hashes`, once the set holds INDEX_FROM values; and one of an earlier use. */
  private index: Uint8Array | null = null;
  private spareIndex: Uint8Array | null = null;

  constructor(
    private readonly cap = DISTINCT_EXACT_CAP,
    keepValues = true,
  ) {
    this.vals = keepValues ? [] : null;
  }

  add(value: string): void {
    this.addHash(hash32(value), value);
  }

  /** Adds a value by its hash32 (`value` is kept only when this set keeps values). */
  addHash(h: number, value?: string): void {
    HASH_ARG[0] = h;
    this.addHashAt(HASH_ARG, 0, value);
  }

  /**
   * addHash(src[at], value): the hash read from a typed array, not passed as an argument (a hash ≥ 2^30 passed to a
   * function that is not inlined is boxed in a new heap number: a few per event per window, all garbage).
   */
  addHashAt(src: Uint32Array, at: number, value?: string): void {
    const h = src[at] as number;
    if (this.registers) {
      this.sketch(src, at);
      return;
    }
    let hs = this.hashes;
    const n = this.n;
    const index = this.index;
    let probe = 0;
    if (index !== null) {
      // open addressing over the slots (slot + 1; 0: empty), at most half full
      const mask = index.length - 1;
      probe = h & mask;
      for (let s = index[probe] as number; s !== 0; s = index[probe] as number) {
        if (hs![s - 1] === h) return;
        probe = (probe + 1) & mask;
      }
    } else if (hs) {
      for (let i = 0; i < n; i++) if (hs[i] === h) return;
    }
    if (n >= this.cap) {
      this.toSketch();
      this.sketch(src, at);
      return;
    }
    if (!hs || n === hs.length) {
      const grown = new Uint32Array(hs ? Math.min(this.cap, hs.length * 2) : 4);
      if (hs) grown.set(hs);
      this.hashes = hs = grown;
    }
    hs[n] = h;
    this.n = n + 1;
    if (index !== null) index[probe] = n + 1;
    else if (n + 1 === INDEX_FROM && this.cap <= INDEX_MAX_CAP) this.buildIndex();
    if (this.vals) {
      if (value === undefined) this.vals = null; // merged from a set that kept only hashes: values unknown
      else this.vals[n] = value;
    }
  }

  has(value: string): boolean | undefined {
    if (this.registers) return undefined;
    const h = hash32(value);
    for (let i = 0; i < this.n; i++) if (this.hashes![i] === h) return true;
    return false;
  }

  /** Exact values while exact (at most `cap`) and kept, else null. */
  values(): string[] | null {
    return !this.registers && this.vals ? this.vals.slice(0, this.n) : null;
  }

  /**
   * hash32 of each value values() would list (the first `size` entries; same order), without copying; null when
   * values() is null. (Every value kept was added with its hash32: add(), fromJSON, or the engine's addHash.)
   */
  valueHashes(): Uint32Array | null {
    return !this.registers && this.vals ? (this.hashes ?? NO_HASHES) : null;
  }

  get estimated(): boolean {
    return this.registers !== null;
  }

  get size(): number {
    if (!this.registers) return this.n;
    if (this.estimate >= 0) return this.estimate;
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const raw = (alpha * HLL_M * HLL_M) / this.sum;
    const zeros = this.zeros;
    this.estimate = raw <= 2.5 * HLL_M && zeros > 0 ? Math.round(HLL_M * Math.log(HLL_M / zeros)) : Math.round(raw);
    return this.estimate;
  }

  merge(other: BoundedDistinct): void {
    if (!other.registers) {
      const hs = other.hashes;
      const ov = other.vals;
      for (let i = 0; i < other.n; i++) this.addHashAt(hs!, i, ov ? ov[i] : undefined);
      return;
    }
    if (!this.registers) this.toSketch();
    const r = this.registers!;
    const o = other.registers;
    for (let i = 0; i < HLL_M; i++) if ((o[i] as number) > (r[i] as number)) r[i] = o[i] as number;
    this.recount();
  }

  toJSON(): DistinctJson {
    if (this.registers) return { h: Buffer.from(this.registers).toString('base64') };
    if (this.vals) return { s: this.vals.slice(0, this.n) };
    return { k: Array.from(this.hashes?.subarray(0, this.n) ?? []) };
  }

  static fromJSON(j: DistinctJson, cap = DISTINCT_EXACT_CAP, keepValues = true): BoundedDistinct {
    const d = new BoundedDistinct(cap, keepValues && !('k' in j));
    if ('s' in j) for (const v of j.s) d.add(v);
    else if ('k' in j) for (const h of j.k) d.addHash(h >>> 0);
    else {
      const bytes = Buffer.from(j.h, 'base64');
      if (bytes.length !== HLL_M) throw new Error(`distinct sketch: expected ${HLL_M} registers, got ${bytes.length}`);
      d.registers = new Uint8Array(bytes);
      d.recount();
    }
    return d;
  }

  /** The slot index, from the hashes so far (a set past INDEX_FROM values: no scan of them all per add). */
  private buildIndex(): void {
    let size = 8;
    while (size < 2 * this.cap) size *= 2;
    let index = this.spareIndex;
    this.spareIndex = null;
    if (index === null || index.length !== size) index = new Uint8Array(size);
    const hs = this.hashes!;
    const mask = size - 1;
    for (let i = 0; i < this.n; i++) {
      let p = (hs[i] as number) & mask;
      while (index[p] !== 0) p = (p + 1) & mask;
      index[p] = i + 1;
    }
    this.index = index;
  }

  /** The index back to spare, zeroed (the set is below INDEX_FROM again, or a sketch). */
  private dropIndex(): void {
    const index = this.index;
    if (index === null) return;
    index.fill(0);
    this.spareIndex = index;
    this.index = null;
  }

  /** Empty again, keeping its arrays (a pooled window reuses them). */
  clear(keepValues: boolean): void {
    this.dropIndex();
    if (this.registers) {
      this.registers.fill(0);
      this.spare = this.registers;
      this.registers = null;
    }
    this.n = 0;
    this.estimate = -1;
    this.vals = keepValues ? (this.vals ?? []) : null;
  }

  /** Registers of an earlier use, zeroed, kept for the next switch to the sketch. */
  private spare: Uint8Array | null = null;

  private toSketch(): void {
    this.dropIndex();
    const hs = this.hashes;
    const n = this.n;
    this.registers = this.spare ?? new Uint8Array(HLL_M);
    this.spare = null;
    this.sum = HLL_M;
    this.zeros = HLL_M;
    this.estimate = -1;
    for (let i = 0; i < n; i++) this.sketch(hs!, i);
    this.n = 0;
  }

  /** Harmonic sum and zero count from the registers (after a merge or a load). */
  private recount(): void {
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      const v = r[i] as number;
      sum += 2 ** -v;
      if (v === 0) zeros++;
    }
    this.sum = sum;
    this.zeros = zeros;
    this.estimate = -1;
  }

  /** Adds hash src[at] to the registers. */
  private sketch(src: Uint32Array, at: number): void {
    const h = src[at] as number;
    const idx = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) >>> 0;
    const rank = rest === 0 ? HLL_MAX_RANK : Math.clz32(rest) + 1;
    const r = this.registers!;
    const old = r[idx] as number;
    if (rank > old) {
      r[idx] = rank;
      // exact for registers this code writes (≤ 23): every term is a multiple of 2^−23 and the sum is at most 1024
      this.sum += POW2_NEG[rank]! - (old <= HLL_MAX_RANK ? POW2_NEG[old]! : 2 ** -old);
      if (old === 0) this.zeros -= 1;
      this.estimate = -1;
    }
  }
}

/** Exact sets of this many values and more find a value through a hash table of their slots (Uint8Array: caps ≤ 127). */
const INDEX_FROM = 16;
const INDEX_MAX_CAP = 127;
const NO_HASHES = new Uint32Array(0);
/** A hash handed to addHash() / addHashed(), read back by the …At / …From form (no heap number per call). */
const HASH_ARG = new Uint32Array(1);
const POW2_NEG: Float64Array = Float64Array.from({ length: HLL_MAX_RANK + 1 }, (_, v) => 2 ** -v);

// ---- top contributors ---------------------------------------------------------------------------

/** Highest count a top-contributor slot holds (counts saturate there). */
const TOP_COUNT_MAX = 0xffffffff;

/**
 * Space-saving top-k counters for several fields in one object: exact while a field has fewer than k keys, then its
 * counts are upper bounds (a new key replaces the first slot of least count). Mergeable (approximately). Laid out for
 * few cache lines per add: one array of numbers holds, per field, a word of (length, last-hit slot) and a word of (offset,
 * capacity, first slot of least count), then each field's slots together as (hash32, count) pairs, so a lookup in a
 * full field (tenant, endpoint and token windows see many IPs and paths) reads two or three cache lines, and a small
 * window's fields (an IP's minute holds a few events) start with two slots each. A field grows by doubling, up to k
 * (the array is rebuilt then, rarely: pooled windows keep their sets); one array holds the keys in the same order.
 * A lookup scans the field's hashes (one integer compare per slot), the slot of the last hit first; a hash match is
 * confirmed on the string, so counts stay exact per key. A full field remembers its first slot of least count (moved
 * on when that slot's count rises), so an absent key costs the scan of hashes alone. Callers pass hashes they
 * computed once per event, and merges reuse the other set's hashes.
 */
export class TopSet {
  private keys: string[];
  /**
   * Word f: length | last-hit slot << 16. Word F + f: offset | capacity << 10 | (first slot of least count + 1) << 20
   * (0: not known; kept only while the field is full). Slot i of field f: hash at 2F + 2(offset + i), count after it;
   * key at keys[offset + i]. A plain array of doubles (unboxed), not a Uint32Array: V8 keeps typed arrays over 64
   * bytes off its heap (a separately allocated backing store, one more cold cache line per add), while this array
   * lives next to the set on the heap.
   */
  private num: number[];
  /**
   * Bit f: field f held two keys of one hash32 since the last clear (a window reads its distinct paths off the top
   * paths only while they are exact as a set of hashes: no collision, fewer than k keys).
   */
  collided = 0;

  constructor(
    readonly fields: number,
    private readonly k = TOP_K,
  ) {
    if (!(k >= 1 && fields >= 1 && fields * k <= 1023)) throw new RangeError(`TopSet: ${fields} fields of ${k} slots (at most 1,023 slots)`);
    const cap = Math.min(k, 2);
    const num = newWords(2 * fields + 2 * fields * cap);
    for (let f = 0; f < fields; f++) num[fields + f] = f * cap + (cap << 10);
    this.num = num;
    this.keys = new Array<string>(fields * cap).fill('');
  }

  /** Field f's capacity doubled (up to k): every field's slots copied into a new array, in field order. */
  private grow(f: number): void {
    const F = this.fields;
    const old = this.num;
    const oldKeys = this.keys;
    let total = 0;
    for (let g = 0; g < F; g++) {
      const cap = ((old[F + g] as number) >>> 10) & 0x3ff;
      total += g === f ? Math.min(this.k, cap * 2) : cap;
    }
    const num = newWords(2 * F + 2 * total);
    const keys = new Array<string>(total).fill('');
    let off = 0;
    for (let g = 0; g < F; g++) {
      const b = old[F + g] as number;
      const ooff = b & 0x3ff;
      const cap = g === f ? Math.min(this.k, (((b >>> 10) & 0x3ff) as number) * 2) : (b >>> 10) & 0x3ff;
      const len = (old[g] as number) & 0xffff;
      for (let i = 2 * F + 2 * ooff, j = 2 * F + 2 * off, end = i + 2 * len; i < end; i++, j++) num[j] = old[i] as number;
      for (let i = 0; i < len; i++) keys[off + i] = oldKeys[ooff + i]!;
      num[g] = old[g] as number;
      num[F + g] = (off + (cap << 10) + (b >>> 20) * 0x100000) >>> 0;
      off += cap;
    }
    this.num = num;
    this.keys = keys;
  }

  clear(): void {
    this.collided = 0;
    const num = this.num;
    const F = this.fields;
    for (let f = 0; f < F; f++) {
      num[f] = 0;
      num[F + f] = (num[F + f] as number) & 0xfffff;
    }
  }

  /** Keys counted in field f. */
  size(f: number): number {
    return (this.num[f] as number) & 0xffff;
  }

  add(f: number, key: string, n = 1): void {
    this.addHashed(f, hash32(key), key, n);
  }

  /** add() with the key's hash32 already computed. */
  addHashed(f: number, h: number, key: string, n = 1): void {
    HASH_ARG[0] = h;
    this.addFrom(f, HASH_ARG, 0, key, n);
  }

  /** addHashed(f, src[at], key, n): the hash read from a typed array (see BoundedDistinct.addHashAt). */
  addFrom(f: number, src: Uint32Array, at0f: number, key: string, n = 1): void {
    const h = src[at0f] as number;
    const num = this.num;
    const keys = this.keys;
    const F = this.fields;
    const a = num[f] as number;
    const len = a & 0xffff;
    const last = a >>> 16;
    const b = num[F + f] as number;
    const off = b & 0x3ff;
    const base = 2 * F + 2 * off;
    let x = base + 2 * last;
    if (last < len && num[x] === h && keys[off + last] === key) {
      this.bump(f, x, last, n);
      return;
    }
    x = base;
    for (let i = 0; i < len; i++, x += 2) {
      if (num[x] === h) {
        if (keys[off + i] === key) {
          num[f] = len | (i << 16);
          this.bump(f, x, i, n);
          return;
        }
        this.collided |= 1 << f;
      }
    }
    let at = len;
    if (len < this.k) {
      if (len >= ((b >>> 10) & 0x3ff)) {
        this.grow(f);
        this.addFrom(f, src, at0f, key, n);
        return;
      }
      num[f] = len + 1 + (len << 16);
    } else {
      // full: the key replaces the first slot of least count, with that count added
      at = (b >>> 20) - 1;
      if (at < 0) at = this.firstMin(f);
      const old = num[base + 2 * at + 1] as number;
      n += old;
      num[f] = len | (at << 16);
      keys[off + at] = key;
      x = base + 2 * at;
      num[x] = h;
      const v = n > TOP_COUNT_MAX ? TOP_COUNT_MAX : n;
      num[x + 1] = v;
      this.moveMin(f, at, old, v);
      return;
    }
    keys[off + at] = key;
    x = base + 2 * at;
    num[x] = h;
    num[x + 1] = n > TOP_COUNT_MAX ? TOP_COUNT_MAX : n;
  }

  /** Count of slot `slot` (at num[x]) of field f plus n. */
  private bump(f: number, x: number, slot: number, n: number): void {
    const num = this.num;
    const old = num[x + 1] as number;
    const s = old + n;
    const v = s > TOP_COUNT_MAX ? TOP_COUNT_MAX : s;
    num[x + 1] = v;
    if ((num[this.fields + f] as number) >>> 20 === slot + 1) this.moveMin(f, slot, old, v);
  }

  /**
   * The count of slot `slot`, the first of least count (`old`) in full field f, is now v: the first of least count
   * is the next slot that has `old` (slots before it have more), else not known until the next absent key needs it.
   */
  private moveMin(f: number, slot: number, old: number, v: number): void {
    const num = this.num;
    const F = this.fields;
    const b = num[F + f] as number;
    let m = slot + 1;
    if (v !== old) {
      m = 0;
      const base = 2 * F + 2 * (b & 0x3ff);
      const len = (num[f] as number) & 0xffff;
      for (let i = slot + 1; i < len; i++) {
        if (num[base + 2 * i + 1] === old) {
          m = i + 1;
          break;
        }
      }
    }
    num[F + f] = ((b & 0xfffff) + m * 0x100000) >>> 0;
  }

  /** First slot of least count of field f (scanned). */
  private firstMin(f: number): number {
    const num = this.num;
    const F = this.fields;
    const base = 2 * F + 2 * ((num[F + f] as number) & 0x3ff);
    const len = (num[f] as number) & 0xffff;
    let min = TOP_COUNT_MAX + 1;
    let at = 0;
    for (let i = 0; i < len; i++) {
      const c = num[base + 2 * i + 1] as number;
      if (c < min) {
        min = c;
        at = i;
      }
    }
    return at;
  }

  /** Adds the other's counts of field f into field `into` (exact while the union fits in k keys). */
  mergeField(into: number, other: TopSet, f: number): void {
    const F = other.fields;
    const on = other.num;
    const off = (on[F + f] as number) & 0x3ff;
    for (let i = 0, len = other.size(f); i < len; i++) {
      const x = 2 * F + 2 * (off + i);
      HASH_ARG[0] = on[x] as number;
      this.addFrom(into, HASH_ARG, 0, other.keys[off + i]!, on[x + 1] as number);
    }
  }

  /** Highest counts first; ties by key so the order is deterministic. */
  top(f: number, n: number): { value: string; count: number }[] {
    return this.entries(f)
      .sort(byCountThenKey)
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }

  max(f: number): number {
    const F = this.fields;
    const base = 2 * F + 2 * ((this.num[F + f] as number) & 0x3ff);
    let m = 0;
    for (let i = 0, len = this.size(f); i < len; i++) {
      const c = this.num[base + 2 * i + 1] as number;
      if (c > m) m = c;
    }
    return m;
  }

  /** Field f's slot hashes (slot order) added to d, with the keys as values when `withKeys`. */
  hashesInto(f: number, d: BoundedDistinct, withKeys: boolean): void {
    const F = this.fields;
    const num = this.num;
    const off = (num[F + f] as number) & 0x3ff;
    const base = 2 * F + 2 * off;
    for (let i = 0, len = this.size(f); i < len; i++) {
      HASH_ARG[0] = num[base + 2 * i] as number;
      d.addHashAt(HASH_ARG, 0, withKeys ? this.keys[off + i] : undefined);
    }
  }

  /** [key, count] pairs of field f, in slot order. */
  entries(f: number): [string, number][] {
    const F = this.fields;
    const off = (this.num[F + f] as number) & 0x3ff;
    const out: [string, number][] = [];
    for (let i = 0, len = this.size(f); i < len; i++) out.push([this.keys[off + i]!, this.num[2 * F + 2 * (off + i) + 1] as number]);
    return out;
  }
}

/** An array of n zeros with unboxed double elements (words up to 2^32 − 1 stay unboxed; small integers alone would be SMIs). */
function newWords(n: number): number[] {
  const a: number[] = [0.5];
  for (let i = 0; i < n; i++) a[i] = 0;
  return a;
}

function byCountThenKey(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

// ---- latency sketch -----------------------------------------------------------------------------

/** Bucket index for a latency: ceil(log_γ(ms + 1)), capped (1 h and beyond share the last bucket). */
const LAT_BUCKETS = 320;

/**
 * Log-bucket quantile sketch: value v lands in bucket ceil(log_γ(v + 1)); quantiles within ≈ (γ − 1)/2. Dense counts
 * in one typed array that covers only the buckets in use (8 to start with, on the V8 heap; grown by doubling, up to
 * all 320), and every pass runs over the non-empty range only: a partial of a few events costs a few slots.
 */
export class LatencySketch {
  /** Counts of buckets base … base + c.length − 1. */
  private c: Float64Array | null = null;
  private base = 0;
  /** Lowest and highest bucket counted since the last clear (lo > hi: none). */
  private lo = LAT_BUCKETS;
  private hi = -1;
  total = 0;

  add(ms: number, n = 1): void {
    const b = Math.min(LAT_BUCKETS - 1, Math.ceil(Math.log1p(Math.max(0, ms)) / LOG_GAMMA));
    this.bump(b, n);
  }

  quantile(q: number): number {
    const c = this.c;
    if (this.total === 0 || !c) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    const base = this.base;
    let seen = 0;
    let last = 0;
    for (let k = this.lo; k <= this.hi; k++) {
      const v = c[k - base] as number;
      if (v === 0) continue;
      last = k;
      seen += v;
      if (seen >= rank) return k === 0 ? 0 : Math.expm1((k - 0.5) * LOG_GAMMA);
    }
    return Math.expm1((last - 0.5) * LOG_GAMMA);
  }

  merge(other: LatencySketch): void {
    const o = other.c;
    if (!o) return;
    const base = other.base;
    for (let k = other.lo; k <= other.hi; k++) {
      const v = o[k - base] as number;
      if (v) this.bump(k, v);
    }
  }

  toJSON(): [number, number][] {
    const out: [number, number][] = [];
    const c = this.c;
    if (c) {
      for (let k = this.lo; k <= this.hi; k++) {
        const v = c[k - this.base] as number;
        if (v) out.push([k, v]);
      }
    }
    return out;
  }

  static fromJSON(j: [number, number][]): LatencySketch {
    const s = new LatencySketch();
    s.load(j);
    return s;
  }

  /** Adds the buckets of a wire form. */
  load(j: [number, number][]): void {
    for (const [k, v] of j) this.bump(Math.min(LAT_BUCKETS - 1, Math.max(0, Math.trunc(k))), v);
  }

  clear(): void {
    const c = this.c;
    if (c && this.lo <= this.hi) c.fill(0, this.lo - this.base, this.hi - this.base + 1);
    this.lo = LAT_BUCKETS;
    this.hi = -1;
    this.total = 0;
  }

  private bump(b: number, n: number): void {
    this.total += n;
    if (!(b >= 0)) {
      this.c ??= new Float64Array(8); // NaN latency: counted, in no bucket
      return;
    }
    let c = this.c;
    if (c === null || b < this.base || b >= this.base + c.length) c = this.cover(b);
    c[b - this.base] = (c[b - this.base] as number) + n;
    if (b < this.lo) this.lo = b;
    if (b > this.hi) this.hi = b;
  }

  /** An array that covers bucket b and every bucket in use. */
  private cover(b: number): Float64Array {
    const old = this.c;
    const empty = this.lo > this.hi;
    const lo = empty ? b : Math.min(this.lo, b);
    const hi = empty ? b : Math.max(this.hi, b);
    const span = hi - lo + 1;
    let cap = old ? old.length : 8;
    while (cap < span) cap *= 2;
    if (cap * 2 > LAT_BUCKETS) cap = LAT_BUCKETS;
    const base = Math.max(0, Math.min(LAT_BUCKETS - cap, lo - ((cap - span) >> 1)));
    if (old && empty && old.length === cap) {
      this.base = base; // all zeros: moved, not copied
      return old;
    }
    const c = new Float64Array(cap);
    if (old && !empty) for (let k = this.lo; k <= this.hi; k++) c[k - base] = old[k - this.base] as number;
    this.c = c;
    this.base = base;
    return c;
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
  /** What the aggregate tracks (TRACK_* bits); absent: everything. */
  tr?: number;
}

export type DistinctField = 'paths' | 'ips' | 'tokens' | 'endpoints' | 'failIps';
export type TopField = 'ips' | 'paths' | 'statuses' | 'routes' | 'failIps';
const DISTINCT_FIELDS: readonly DistinctField[] = ['paths', 'ips', 'tokens', 'endpoints', 'failIps'];
const TOP_FIELDS: readonly TopField[] = ['ips', 'paths', 'statuses', 'routes', 'failIps'];
const TOP_IPS = 0;
const TOP_PATHS = 1;
const TOP_STATUSES = 2;
const TOP_ROUTES = 3;
const TOP_FAIL_IPS = 4;
const TOP_INDEX: Readonly<Record<TopField, number>> = { ips: TOP_IPS, paths: TOP_PATHS, statuses: TOP_STATUSES, routes: TOP_ROUTES, failIps: TOP_FAIL_IPS };
const SMALL_SET_CAP = 16;

/** What a window aggregate keeps beyond its counters (entity types that never read a piece do not pay for it). */
export const TRACK_PATHS = 1;
export const TRACK_IPS = 2;
export const TRACK_TOKENS = 4;
export const TRACK_ENDPOINTS = 8;
export const TRACK_FAIL_IPS = 16;
export const TRACK_LATENCY = 32;
export const TRACK_LOCATIONS = 64;
/** Top contributors: IPs, paths and statuses (every anomaly carries them), routes and failing IPs (see below). */
export const TRACK_TOPS = 128;
export const TRACK_ALL = 255;
/**
 * With TRACK_TOPS: top routes and top failing IPs are NOT kept (only the IP detectors read top routes: brute force's
 * "mostly on", scraping). A bit that removes, so tracks written before it (wire forms carry them) keep their meaning.
 */
export const TRACK_NO_ROUTE_TOPS = 256;
/** The distinct sets that can start out as a top-contributor field's keys (WindowAggregate.inTops). */
const IN_TOPS = TRACK_PATHS | TRACK_IPS;

/** Status codes as strings, made once (top-contributor keys), and their hash32s. */
const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));
const STATUS_HASH: Uint32Array = Uint32Array.from(STATUS_TEXT, hash32);

/**
 * hash32 of the event strings windows track (client IP, path, route or else path), computed once per event and
 * shared by the windows it goes into (IP, token, token×IP, endpoint, tenant), which would each hash them again.
 */
export class EventHashes {
  /** The event these are the hashes of. */
  of: WindowEvent | null = null;
  /** [ip, path, route] (HASH_IP…): read by the windows from here, never passed as (boxed) numbers. */
  readonly v = new Uint32Array(3);

  get ip(): number {
    return this.v[HASH_IP] as number;
  }

  get path(): number {
    return this.v[HASH_PATH] as number;
  }

  /** hash32(e.route || e.path). */
  get route(): number {
    return this.v[HASH_ROUTE] as number;
  }

  set(e: WindowEvent): this {
    this.of = e;
    const v = this.v;
    v[HASH_IP] = hash32(e.clientIp);
    const p = hash32(e.path);
    v[HASH_PATH] = p;
    const r = e.route;
    v[HASH_ROUTE] = r && r !== e.path ? hash32(r) : p;
    return this;
  }
}

const HASH_IP = 0;
const HASH_PATH = 1;
const HASH_ROUTE = 2;

/** For add() calls without hashes (filled per call). */
const scratchHashes = new EventHashes();

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
  private dPaths: BoundedDistinct | null = null;
  private dIps: BoundedDistinct | null = null;
  private dTokens: BoundedDistinct | null = null;
  private dEndpoints: BoundedDistinct | null = null;
  private dFailIps: BoundedDistinct | null = null;
  /** Top contributors, fields by TOP_INDEX (one object and two arrays for all five). */
  private tops: TopSet | null = null;
  readonly latency = new LatencySketch();
  /** Bounded small sets (≤ 16) of ASNs and countries, and the sample event ids: slots + counts, reused when pooled. */
  private readonly asn: number[] = [];
  private nAsn = 0;
  private readonly cc: string[] = [];
  private nCc = 0;
  private readonly smp: string[] = [];
  private nSmp = 0;
  private readonly fsmp: string[] = [];
  private nFsmp = 0;
  /** TRACK_* bits of the pieces that may hold data (written since the last reset). */
  private filled = 0;
  /**
   * TRACK_PATHS / TRACK_IPS bits: distinct paths (IPs) are the top-paths (top-IPs) field's keys, not counted in their
   * distinct set: while tracking both, until that field holds k keys or two keys of one hash (then the set gets its
   * hashes, and IPs, in the same first-seen order, and counts on). Most windows (an IP's minute: a few events; a
   * token's: one or a few IPs) thus never touch a distinct set.
   */
  private inTops: number;

  constructor(
    public windowStart: number,
    public windowMs: number,
    /** TRACK_* bits: which distinct sets, sketches and contributors to keep. */
    public tracks = TRACK_ALL,
  ) {
    this.inTops = tracks & TRACK_TOPS ? tracks & IN_TOPS : 0;
  }

  /** ASNs seen (at most 16). */
  get asns(): number[] {
    return this.asn.slice(0, this.nAsn);
  }

  /** Countries seen (at most 16). */
  get countries(): string[] {
    return this.cc.slice(0, this.nCc);
  }

  /** asns / countries without copying: how many, and the i-th. */
  get asnCount(): number {
    return this.nAsn;
  }

  asnAt(i: number): number {
    return this.asn[i]!;
  }

  get countryCount(): number {
    return this.nCc;
  }

  countryAt(i: number): string {
    return this.cc[i]!;
  }

  /** First event ids of the window (at most 10). */
  get samples(): string[] {
    return this.smp.slice(0, this.nSmp);
  }

  /** First event ids of the window's failures (401/403, 404, 5xx; at most 10). */
  get failureSamples(): string[] {
    return this.fsmp.slice(0, this.nFsmp);
  }

  /** Empty again for another window (pooled aggregates keep their arrays and sketches: no garbage per window). */
  reset(windowStart: number, windowMs: number, tracks: number): void {
    this.windowStart = windowStart;
    this.windowMs = windowMs;
    this.tracks = tracks;
    this.inTops = tracks & TRACK_TOPS ? tracks & IN_TOPS : 0;
    this.requests = 0;
    this.authFailures = 0;
    this.notFound = 0;
    this.tooMany = 0;
    this.errors5xx = 0;
    this.bytesOut = 0;
    this.firstTs = Infinity;
    this.lastTs = -Infinity;
    this.activity = 0;
    // only the pieces written since the last reset: a pooled aggregate keeps every piece it ever had, and touching
    // each one costs a cache miss
    const f = this.filled;
    if (f !== 0) {
      if (f & TRACK_PATHS) this.dPaths?.clear(false);
      if (f & TRACK_IPS) this.dIps?.clear(true);
      if (f & TRACK_TOKENS) this.dTokens?.clear(false);
      if (f & TRACK_ENDPOINTS) this.dEndpoints?.clear(false);
      if (f & TRACK_FAIL_IPS) this.dFailIps?.clear(false);
      if (f & TRACK_TOPS) this.tops?.clear();
      if (f & TRACK_LATENCY) this.latency.clear();
      this.filled = 0;
    }
    this.nAsn = 0;
    this.nCc = 0;
    this.nSmp = 0;
    this.nFsmp = 0;
  }

  private addAsn(a: number): void {
    if (this.nAsn >= SMALL_SET_CAP) return;
    for (let i = 0; i < this.nAsn; i++) if (this.asn[i] === a) return;
    this.asn[this.nAsn++] = a;
  }

  private addCountry(c: string): void {
    if (this.nCc >= SMALL_SET_CAP) return;
    for (let i = 0; i < this.nCc; i++) if (this.cc[i] === c) return;
    this.cc[this.nCc++] = c;
  }

  private addSample(id: string): void {
    if (this.nSmp >= SAMPLES) return;
    for (let i = 0; i < this.nSmp; i++) if (this.smp[i] === id) return;
    this.smp[this.nSmp++] = id;
  }

  private addFailureSample(id: string): void {
    if (this.nFsmp >= SAMPLES) return;
    for (let i = 0; i < this.nFsmp; i++) if (this.fsmp[i] === id) return;
    this.fsmp[this.nFsmp++] = id;
  }

  /**
   * Counts the event. `hashes`: the hash32s of its strings, computed once per event by a caller that adds it to
   * several windows (recomputed here when they are of another event object).
   */
  add(e: WindowEvent, hashes?: EventHashes): void {
    const h = hashes === undefined ? scratchHashes.set(e) : hashes.of === e ? hashes : hashes.set(e);
    this.requests += 1;
    const s = e.status;
    const failed = s === 401 || s === 403;
    if (failed) this.authFailures += 1;
    else if (s === 404) this.notFound += 1;
    else if (s === 429) this.tooMany += 1;
    else if (s >= 500) this.errors5xx += 1;
    this.bytesOut += e.bytesOut;
    const ts = e.ts;
    if (ts < this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
    const slice = Math.floor(((ts - this.windowStart) / this.windowMs) * SLICES);
    this.activity = (this.activity | (1 << (slice < 0 ? 0 : slice > SLICES - 1 ? SLICES - 1 : slice))) >>> 0;
    const tr = this.tracks;
    this.filled |= tr;
    const hv = h.v;
    const inTops = this.inTops;
    if (tr & TRACK_PATHS && !(inTops & TRACK_PATHS)) (this.dPaths ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).addHashAt(hv, HASH_PATH);
    if (tr & TRACK_IPS && !(inTops & TRACK_IPS)) (this.dIps ??= new BoundedDistinct()).addHashAt(hv, HASH_IP, e.clientIp);
    if (tr & TRACK_TOKENS && e.tokenId) (this.dTokens ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).addHash(hash32(e.tokenId));
    if (tr & TRACK_ENDPOINTS) (this.dEndpoints ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).addHash(endpointHash(e.method, e.route || e.path));
    if (tr & TRACK_TOPS) {
      const t = (this.tops ??= new TopSet(TOP_FIELDS.length));
      t.addFrom(TOP_IPS, hv, HASH_IP, e.clientIp);
      t.addFrom(TOP_PATHS, hv, HASH_PATH, e.path);
      if (s >= 0 && s < 600) t.addFrom(TOP_STATUSES, STATUS_HASH, s, STATUS_TEXT[s]!);
      else t.add(TOP_STATUSES, String(s));
      if (!(tr & TRACK_NO_ROUTE_TOPS)) {
        t.addFrom(TOP_ROUTES, hv, HASH_ROUTE, e.route || e.path);
        if (failed) t.addFrom(TOP_FAIL_IPS, hv, HASH_IP, e.clientIp);
      }
      if (inTops !== 0) {
        if (inTops & TRACK_PATHS && (t.size(TOP_PATHS) >= TOP_K || t.collided & (1 << TOP_PATHS))) this.outOfTops(TRACK_PATHS);
        if (inTops & TRACK_IPS && (t.size(TOP_IPS) >= TOP_K || t.collided & (1 << TOP_IPS))) this.outOfTops(TRACK_IPS);
      }
    }
    if (failed && tr & TRACK_FAIL_IPS) (this.dFailIps ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).addHashAt(hv, HASH_IP);
    if (tr & TRACK_LATENCY) this.latency.add(e.latencyMs);
    if (tr & TRACK_LOCATIONS) {
      if (e.asn > 0) this.addAsn(e.asn);
      if (e.country) this.addCountry(e.country);
    }
    if (this.nSmp < SAMPLES) this.smp[this.nSmp++] = e.id;
    if ((failed || s === 404 || s >= 500) && this.nFsmp < SAMPLES) this.fsmp[this.nFsmp++] = e.id;
  }

  merge(o: WindowAggregate): void {
    if (this.inTops !== 0) {
      this.outOfTops(TRACK_PATHS);
      this.outOfTops(TRACK_IPS);
    }
    this.requests += o.requests;
    this.authFailures += o.authFailures;
    this.notFound += o.notFound;
    this.tooMany += o.tooMany;
    this.errors5xx += o.errors5xx;
    this.bytesOut += o.bytesOut;
    this.firstTs = Math.min(this.firstTs, o.firstTs);
    this.lastTs = Math.max(this.lastTs, o.lastTs);
    this.activity = (this.activity | o.activity) >>> 0;
    const tr = this.tracks;
    this.filled |= tr;
    if (tr & TRACK_PATHS) this.mergeDistinct(o, TRACK_PATHS, o.dPaths);
    if (tr & TRACK_IPS) this.mergeDistinct(o, TRACK_IPS, o.dIps);
    if (o.dTokens && tr & TRACK_TOKENS) (this.dTokens ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).merge(o.dTokens);
    if (o.dEndpoints && tr & TRACK_ENDPOINTS) (this.dEndpoints ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).merge(o.dEndpoints);
    if (o.dFailIps && tr & TRACK_FAIL_IPS) (this.dFailIps ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)).merge(o.dFailIps);
    if (tr & TRACK_TOPS && o.tops) {
      const t = (this.tops ??= new TopSet(TOP_FIELDS.length));
      const fields = tr & TRACK_NO_ROUTE_TOPS ? TOP_ROUTES : TOP_FIELDS.length;
      for (let f = 0; f < fields; f++) t.mergeField(f, o.tops, f);
    }
    if (tr & TRACK_LATENCY) this.latency.merge(o.latency);
    if (tr & TRACK_LOCATIONS) {
      for (let i = 0; i < o.nAsn; i++) this.addAsn(o.asn[i]!);
      for (let i = 0; i < o.nCc; i++) this.addCountry(o.cc[i]!);
    }
    for (let i = 0; i < o.nSmp && this.nSmp < SAMPLES; i++) this.addSample(o.smp[i]!);
    for (let i = 0; i < o.nFsmp && this.nFsmp < SAMPLES; i++) this.addFailureSample(o.fsmp[i]!);
  }

  distinctCount(f: DistinctField): number {
    if (this.inTops !== 0) {
      if (f === 'paths' && this.inTops & TRACK_PATHS) return this.tops ? this.tops.size(TOP_PATHS) : 0;
      if (f === 'ips' && this.inTops & TRACK_IPS) return this.tops ? this.tops.size(TOP_IPS) : 0;
    }
    return this.distinctSet(f)?.size ?? 0;
  }

  distinctSet(f: DistinctField): BoundedDistinct | undefined {
    switch (f) {
      case 'paths':
        if (this.inTops & TRACK_PATHS && this.tops !== null && this.tops.size(TOP_PATHS) > 0) this.outOfTops(TRACK_PATHS);
        return this.dPaths ?? undefined;
      case 'ips':
        if (this.inTops & TRACK_IPS && this.tops !== null && this.tops.size(TOP_IPS) > 0) this.outOfTops(TRACK_IPS);
        return this.dIps ?? undefined;
      case 'tokens':
        return this.dTokens ?? undefined;
      case 'endpoints':
        return this.dEndpoints ?? undefined;
      case 'failIps':
        return this.dFailIps ?? undefined;
    }
  }

  top(f: TopField, n = 5): { value: string; count: number }[] {
    return this.tops?.top(TOP_INDEX[f], n) ?? [];
  }

  topMax(f: TopField): number {
    return this.tops?.max(TOP_INDEX[f]) ?? 0;
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
    for (const f of DISTINCT_FIELDS) {
      const v = this.distinctSet(f);
      if (v) d[f] = v.toJSON();
    }
    const top: WindowAggJson['top'] = {};
    const t = this.tops;
    if (t) for (let f = 0; f < TOP_FIELDS.length; f++) if (t.size(f) > 0) top[TOP_FIELDS[f]!] = t.entries(f);
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
      asn: this.asns,
      cc: this.countries,
      smp: this.samples,
      fsmp: this.failureSamples,
      ...(this.tracks === TRACK_ALL ? {} : { tr: this.tracks }),
    };
  }

  static fromJSON(j: WindowAggJson): WindowAggregate {
    if (j.v !== 1) throw new Error(`window aggregate: unknown version ${String(j.v)}`);
    const w = new WindowAggregate(j.ws, j.wl, j.tr === undefined ? TRACK_ALL : j.tr & (TRACK_ALL | TRACK_NO_ROUTE_TOPS));
    w.filled = TRACK_ALL; // pieces are read from the wire whatever the aggregate tracks
    w.inTops = 0; // the wire's distinct sets are what counts (absent: none)
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
      if (v) w.setDistinct(f, BoundedDistinct.fromJSON(v, DISTINCT_EXACT_CAP, f === 'ips'));
    }
    for (let f = 0; f < TOP_FIELDS.length; f++) {
      const v = j.top[TOP_FIELDS[f]!];
      if (v && v.length > 0) {
        const t = (w.tops ??= new TopSet(TOP_FIELDS.length));
        for (const [key, n] of v) t.add(f, key, n);
      }
    }
    w.latency.load(j.lat);
    for (const a of j.asn) w.addAsn(a);
    for (const c of j.cc) w.addCountry(c);
    for (const id of j.smp) w.addSample(id);
    for (const id of j.fsmp) w.addFailureSample(id);
    return w;
  }

  /**
   * Distinct paths (bit TRACK_PATHS) or IPs (TRACK_IPS) counted in their set from now on, starting from the top
   * field's hashes and keys (see inTops).
   */
  private outOfTops(bit: number): void {
    if (!(this.inTops & bit)) return;
    this.inTops &= ~bit;
    const t = this.tops;
    const f = bit === TRACK_PATHS ? TOP_PATHS : TOP_IPS;
    if (t === null || t.size(f) === 0) return;
    this.filled |= bit;
    this.topKeysInto(t, bit);
  }

  /** The other window's distinct paths (bit TRACK_PATHS) or IPs (TRACK_IPS), `theirs`, into this one's: read off its top field while they are kept there. */
  private mergeDistinct(o: WindowAggregate, bit: number, theirs: BoundedDistinct | null): void {
    if (o.inTops & bit) {
      if (o.tops) this.topKeysInto(o.tops, bit);
    } else if (theirs) this.distinctOf(bit).merge(theirs);
  }

  /** The distinct paths (bit TRACK_PATHS) or distinct IPs (TRACK_IPS), created on first need. */
  private distinctOf(bit: number): BoundedDistinct {
    return bit === TRACK_PATHS ? (this.dPaths ??= new BoundedDistinct(DISTINCT_EXACT_CAP, false)) : (this.dIps ??= new BoundedDistinct());
  }

  /** A top set's paths (IPs) field into this window's distinct paths (IPs): its hashes, and the IPs, in slot order. */
  private topKeysInto(t: TopSet, bit: number): void {
    t.hashesInto(bit === TRACK_PATHS ? TOP_PATHS : TOP_IPS, this.distinctOf(bit), bit === TRACK_IPS);
  }

  private setDistinct(f: DistinctField, v: BoundedDistinct): void {
    if (f === 'paths') this.dPaths = v;
    else if (f === 'ips') this.dIps = v;
    else if (f === 'tokens') this.dTokens = v;
    else if (f === 'endpoints') this.dEndpoints = v;
    else this.dFailIps = v;
  }
}

/** Start of the window that contains `ts` (windows aligned to the epoch). */
export function windowStartOf(ts: number, windowMs: number): number {
  return Math.floor(ts / windowMs) * windowMs;
}

/**
 * Per-partition event-time watermark: the partition's clock minus the allowed lateness.
 *
 * For access events the clock is the newest event time seen. Re-keyed partials come from several access-event
 * partitions, consumed by instances that run at their own pace (one restarts from a checkpoint, one is starved of
 * CPU): there the clock is the SLOWEST source's newest time (`observeFrom`), so a source running behind does not see
 * its partials dropped as late once a faster one has moved on. A source more than `maxSourceSkewMs` behind the
 * newest (stalled, dead or idle) no longer holds windows open: the clock never lags the newest time by more than that.
 */
export class Watermark {
  private maxTs = -Infinity;
  /** Re-keyed input only: newest time per source partition, and the slowest of them (cached). */
  private sources: Map<number, number> | null = null;
  private slowest = Infinity;

  constructor(
    private readonly latenessMs: number,
    maxTs?: number,
    private readonly maxSourceSkewMs = Infinity,
  ) {
    if (maxTs !== undefined) this.maxTs = maxTs;
  }

  observe(ts: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
  }

  /** Observe a time from one of several sources (re-keyed partials: the access-event partition they came from). */
  observeFrom(source: number, ts: number): void {
    this.observe(ts);
    const sources = (this.sources ??= new Map());
    const prev = sources.get(source);
    if (prev !== undefined && prev >= ts) return;
    sources.set(source, ts);
    if (prev === undefined || prev <= this.slowest) {
      let min = Infinity;
      for (const t of sources.values()) if (t < min) min = t;
      this.slowest = min;
    }
  }

  get maxEventTime(): number {
    return this.maxTs;
  }

  /** Windows ending at or before this are closed. */
  get value(): number {
    const clock = this.sources && this.sources.size > 1 ? Math.max(this.slowest, this.maxTs - this.maxSourceSkewMs) : this.maxTs;
    return clock - this.latenessMs;
  }

  isClosed(windowStart: number, windowMs: number): boolean {
    return windowStart + windowMs <= this.value;
  }
}
