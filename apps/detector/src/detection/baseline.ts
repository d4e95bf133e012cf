import type { Severity } from '@vigil/contracts';
import { scoreFromLogP, severityFromScore } from './calibration.js';
import { countDispersion, logCdfOf, logSfOf, lowerBoundOf, upperBoundOf } from './count-model.js';
import { alphaForHalfLife } from './ewma.js';
import { MAD_TO_SIGMA, robustStatsInto, type RobustStats } from './robust.js';
import { dayOfWeek, hourOfDay, seasonalLevel, slotLabelAt, type SeasonalLevel } from './seasonal.js';
import { normalLogSf, normalQuantile } from './special-functions.js';

/**
 * Per-entity, per-metric streaming baseline over closed windows.
 *
 * - count metrics (requests, 401/403s, distinct paths): EWMA mean/variance of the window count, with
 *   multiplicative hour-of-day / day-of-week factors once two cycles of history exist; scored with the
 *   Poisson or negative-binomial upper tail.
 * - continuous metrics (latency p95, bytes out): log1p space, median/MAD over a bounded ring of recent
 *   windows, additive seasonal offsets; scored with a robust z (log-normal treatment).
 * - cold start: blended with a PopulationBaseline (peer group) by credibility n / (n + k).
 *
 * The whole state lives in one ArrayBuffer (≈240 bytes with the default ring of 16), so an idle entity
 * costs that plus the object header, and a checkpoint is that buffer, byte for byte.
 *
 * Speed (scripts/bench/baseline-math.ts): no allocation on the evaluate/update path (the predictive distribution is
 * computed into module scratch, slot labels are prebuilt, the median/MAD is computed once per ring state), count
 * bounds are searched from a Cornish–Fisher guess (count-model.ts), and `judge()` / `upperBound()` give the detectors'
 * decision without building an Evaluation for the windows that do not fire (most of them).
 */
export type MetricKind = 'count' | 'continuous';
export type Direction = 'up' | 'down' | 'both';

export interface BaselineOptions {
  kind: MetricKind;
  /** Half-life of the EWMA, in windows. */
  halfLife: number;
  /** Half-life of each seasonal slot's factor, in windows that fall in the slot. */
  seasonalHalfLife: number;
  /** Recent windows kept for the median/MAD. */
  ringSize: number;
  /** Own windows at which entity and population weigh equally. */
  credibility: number;
  /** Tail probability at which lower/upper bounds are drawn. */
  boundAlpha: number;
  direction: Direction;
  /** Updates beyond this many spreads above the expectation are clipped (anomalies do not become the baseline). */
  clipSpreads: number;
}

export const DEFAULT_BASELINE_OPTIONS: Readonly<BaselineOptions> = {
  kind: 'count',
  halfLife: 60,
  seasonalHalfLife: 4,
  ringSize: 16,
  credibility: 10,
  boundAlpha: 1e-3,
  direction: 'up',
  clipSpreads: 3,
};

export interface Evaluation {
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  /** One standard deviation of the predictive distribution, in metric units (the "± 12"). */
  spread: number;
  /** Natural log of the one-sided p-value. */
  logP: number;
  score: number;
  severity: Severity;
  /** "Tuesday 14:00", "14:00" or "any time". */
  slot: string;
  seasonal: SeasonalLevel;
  basis: 'entity' | 'population' | 'blended';
  early: boolean;
}

export interface EarlyDecision {
  /** The partial count already exceeds the full window's upper bound: it can only grow, so fire now. */
  fire: boolean;
  evaluation: Evaluation;
}

/** "expected 35 ± 12 for Tuesday 14:00" */
export function describeExpectation(e: Pick<Evaluation, 'expected' | 'spread' | 'slot'>): string {
  const r = (v: number): string => (Math.abs(v) >= 100 ? Math.round(v).toString() : (Math.round(v * 10) / 10).toString());
  return `expected ${r(e.expected)} ± ${r(e.spread)} ${e.slot === 'any time' ? 'at any time' : `for ${e.slot}`}`;
}

// ---- population (peer group) ------------------------------------------------------------------

const P_N = 0;
const P_MEAN = 1;
const P_VAR = 2;
const P_LOG_MEAN = 3;
const P_LOG_VAR = 4;

/** Distribution of one metric across all entities of a type: the prior for new or rare entities. */
export class PopulationBaseline {
  private readonly s: Float64Array;
  private readonly alpha: number;

  constructor(halfLife = 10_000, state?: Float64Array) {
    this.alpha = alphaForHalfLife(halfLife);
    this.s = state ? Float64Array.from(state) : new Float64Array(5);
  }

  get count(): number {
    return this.s[P_N] as number;
  }

  /** Fold in one closed window of any entity (the EWMA step of ewma.ts, inlined: no allocation). */
  observe(value: number): void {
    const s = this.s;
    const n = s[P_N] as number;
    const lv = Math.log1p(Math.max(0, value));
    if (n === 0) {
      s[P_MEAN] = value;
      s[P_VAR] = 0;
      s[P_LOG_MEAN] = lv;
      s[P_LOG_VAR] = 0;
    } else {
      const a = Math.max(this.alpha, 1 / (n + 1));
      const diff = value - (s[P_MEAN] as number);
      const incr = a * diff;
      s[P_MEAN] = (s[P_MEAN] as number) + incr;
      s[P_VAR] = (1 - a) * ((s[P_VAR] as number) + diff * incr);
      const ldiff = lv - (s[P_LOG_MEAN] as number);
      const lincr = a * ldiff;
      s[P_LOG_MEAN] = (s[P_LOG_MEAN] as number) + lincr;
      s[P_LOG_VAR] = (1 - a) * ((s[P_LOG_VAR] as number) + ldiff * lincr);
    }
    s[P_N] = n + 1;
  }

  moments(kind: MetricKind): { mean: number; variance: number } {
    return { mean: this.mean(kind), variance: this.variance(kind) };
  }

  /** moments(kind).mean without the object. */
  mean(kind: MetricKind): number {
    return this.s[kind === 'count' ? P_MEAN : P_LOG_MEAN] as number;
  }

  /** moments(kind).variance without the object. */
  variance(kind: MetricKind): number {
    return this.s[kind === 'count' ? P_VAR : P_LOG_VAR] as number;
  }

  toState(): Float64Array {
    return Float64Array.from(this.s);
  }
}

// ---- entity baseline --------------------------------------------------------------------------

const bfF32 = new Float32Array(1);
const bfU32 = new Uint32Array(bfF32.buffer);

/** `x` rounded (to nearest, ties to even) to a float32 whose low 16 bits are zero (bfloat16 precision). */
export function toBf16(x: number): number {
  bfF32[0] = x;
  const b = bfU32[0] as number;
  if ((b & 0x7f800000) === 0x7f800000) {
    bfU32[0] = b & 0x007fffff ? 0x7fc00000 : b; // NaN → the quiet NaN, ±Infinity as is
    return bfF32[0] as number;
  }
  bfU32[0] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  return bfF32[0] as number;
}

const H_N = 0;
const H_MEAN = 1;
const H_VAR = 2;
const H_RESID_VAR = 3;
const H_FIRST = 4;
const H_LAST = 5;
const H_RING_HEAD = 6;
const HEADER = 7;
const HOURS = 24;
const DAYS = 7;
const STATE_VERSION = 1;

/** What one options object implies, computed once per options object (they are shared by every entity). */
interface Tuning {
  count: boolean;
  up: boolean;
  ring: number;
  alpha: number;
  seasonalAlpha: number;
  logAlpha: number;
  /** Continuous bounds: −Φ⁻¹(boundAlpha). */
  zb: number;
  byteLength: number;
  slots: number;
  /** The f32 slots of a fresh baseline (ring empty, neutral seasonal slots), copied by the constructor. */
  freshSlots: number[];
}

const tunings = new WeakMap<BaselineOptions, Tuning>();

function tuningOf(o: BaselineOptions): Tuning {
  let t = tunings.get(o);
  if (t && t.ring === o.ringSize && t.count === (o.kind === 'count')) return t;
  const byteLength = HEADER * 8 + (o.ringSize + HOURS + DAYS) * 4;
  const slots = o.ringSize + HOURS + DAYS;
  // packed (not holey) double elements: Array.from, and copies by slice()
  const freshSlots = Array.from({ length: slots }, (_, i) => (i < o.ringSize ? NaN : o.kind === 'count' ? 1 : 0));
  t = {
    count: o.kind === 'count',
    up: o.direction === 'up',
    ring: o.ringSize,
    alpha: alphaForHalfLife(o.halfLife),
    seasonalAlpha: alphaForHalfLife(o.seasonalHalfLife),
    logAlpha: Math.log(o.boundAlpha),
    zb: -normalQuantile(o.boundAlpha),
    byteLength,
    slots,
    freshSlots,
  };
  tunings.set(o, t);
  return t;
}

// The predictive distribution of the window being scored, computed into module scratch (one thread, no allocation:
// the numbers live in a Float64Array, since a double written to a module-level `let` is a new heap number each time).
const PS = new Float64Array(4);
const S_MEAN = 0;
const S_VAR = 1;
// own (pre-blending) expectation and variance
const S_OWN_MEAN = 2;
const S_OWN_VAR = 3;
let pBasis: Evaluation['basis'] = 'entity';
let pLevel: SeasonalLevel = 'none';
const robustScratch = { values: new Float64Array(64) };

// Raw-bit copies between the state bytes and the live fields go through these (typed-array copies keep every bit).
const hdrScratch = new Float64Array(HEADER);
const hdrBytes = new Uint8Array(hdrScratch.buffer);
let slotScratch = new Float32Array(64);
let slotBytes = new Uint8Array(slotScratch.buffer);

/**
 * Live state: the header in a 56-byte Float64Array (small enough for V8 to keep on its heap: no external buffer to
 * allocate per baseline), the float32 slots in a plain array of numbers that are always float32 values (written
 * through Math.fround / toBf16). toBytes()/the constructor convert from/to the raw layout, byte for byte.
 */
export class EntityBaseline {
  private readonly h: Float64Array;
  /** ring (ringSize) | hour-of-day (24) | day-of-week (7), each a float32 value. */
  private readonly f: number[];
  private readonly t: Tuning;
  /** Median/MAD of the ring, valid while the baseline has folded `robustAt` windows (continuous only). */
  private robust: RobustStats | null = null;
  private robustAt = -1;
  /** upperBound() memo: for `memoAt` windows folded, window start `memoWs`, population `memoPop` at `memoPopN`. */
  private memoAt = -1;
  private memoWs = 0;
  private memoPop: PopulationBaseline | undefined = undefined;
  private memoPopN = 0;
  private memoUpper = 0;

  constructor(
    readonly options: BaselineOptions = DEFAULT_BASELINE_OPTIONS,
    bytes?: Uint8Array,
  ) {
    const t = tuningOf(options);
    this.t = t;
    this.h = new Float64Array(HEADER);
    if (!bytes) {
      this.f = t.freshSlots.slice();
      return;
    }
    const size = t.byteLength;
    if (bytes.byteLength !== size + 1 || bytes[0] !== STATE_VERSION) {
      throw new Error(`baseline state: expected ${size + 1} bytes of version ${STATE_VERSION}, got ${bytes.byteLength}`);
    }
    hdrBytes.set(bytes.subarray(1, 1 + HEADER * 8));
    this.h.set(hdrScratch);
    const n = t.slots;
    if (slotScratch.length < n) {
      slotScratch = new Float32Array(n);
      slotBytes = new Uint8Array(slotScratch.buffer);
    }
    slotBytes.set(bytes.subarray(1 + HEADER * 8, 1 + HEADER * 8 + n * 4));
    const f = t.freshSlots.slice();
    for (let i = 0; i < n; i++) f[i] = slotScratch[i] as number;
    this.f = f;
  }

  static byteLength(options: Pick<BaselineOptions, 'ringSize'>): number {
    return HEADER * 8 + (options.ringSize + HOURS + DAYS) * 4;
  }

  static fromState(state: Uint8Array | string, options: BaselineOptions = DEFAULT_BASELINE_OPTIONS): EntityBaseline {
    const bytes = typeof state === 'string' ? Buffer.from(state, 'base64') : state;
    return new EntityBaseline(options, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Version byte + the raw state buffer. Round-trips exactly (no float formatting involved). */
  toBytes(): Uint8Array {
    const t = this.t;
    const n = t.slots;
    const out = new Uint8Array(1 + t.byteLength);
    out[0] = STATE_VERSION;
    hdrScratch.set(this.h);
    out.set(hdrBytes, 1);
    if (slotScratch.length < n) {
      slotScratch = new Float32Array(n);
      slotBytes = new Uint8Array(slotScratch.buffer);
    }
    const f = this.f;
    for (let i = 0; i < n; i++) slotScratch[i] = f[i] as number;
    out.set(slotBytes.subarray(0, n * 4), 1 + HEADER * 8);
    return out;
  }

  /** Base64 of toBytes(), for JSON checkpoints. */
  toState(): string {
    return Buffer.from(this.toBytes()).toString('base64');
  }

  /** Closed windows folded in so far. */
  get windows(): number {
    return this.h[H_N] as number;
  }

  private transform(x: number): number {
    return this.t.count ? x : Math.log1p(Math.max(0, x));
  }

  private untransform(y: number): number {
    return this.t.count ? y : Math.expm1(y);
  }

  private seasonLevel(): SeasonalLevel {
    const n = this.h[H_N] as number;
    return n === 0 ? 'none' : seasonalLevel((this.h[H_LAST] as number) - (this.h[H_FIRST] as number));
  }

  /** Seasonal adjustment for a window start: a factor (counts) or an offset in log space (continuous). */
  private season(windowStart: number, level: SeasonalLevel): number {
    const count = this.t.count;
    if (level === 'none') return count ? 1 : 0;
    const ring = this.t.ring;
    const hod = this.f[ring + hourOfDay(windowStart)] as number;
    const dow = level === 'hour-of-week' ? (this.f[ring + HOURS + dayOfWeek(windowStart)] as number) : count ? 1 : 0;
    return count ? hod * dow : hod + dow;
  }

  /** Median/MAD of the ring, computed once per ring state. */
  private robustStats(): RobustStats {
    const n = this.h[H_N] as number;
    let r = this.robust;
    if (r && this.robustAt === n) return r;
    r ??= this.robust = { count: 0, median: NaN, mad: NaN };
    const ring = this.t.ring;
    if (robustScratch.values.length < ring) robustScratch.values = new Float64Array(ring);
    robustStatsInto(this.f, 0, ring, robustScratch.values, r);
    this.robustAt = n;
    return r;
  }

  /** Own expectation and variance (transformed space) for a window, before population blending: into PS[S_OWN_MEAN] / PS[S_OWN_VAR]. */
  private own(windowStart: number, level: SeasonalLevel): void {
    const h = this.h;
    const season = this.season(windowStart, level);
    if (this.t.count) {
      if (level === 'none') {
        PS[S_OWN_MEAN] = h[H_MEAN] as number;
        PS[S_OWN_VAR] = h[H_VAR] as number;
      } else {
        PS[S_OWN_MEAN] = (h[H_MEAN] as number) * season;
        PS[S_OWN_VAR] = (h[H_RESID_VAR] as number) * season * season;
      }
      return;
    }
    const r = this.robustStats();
    const center = (r.count >= 3 ? r.median : (h[H_MEAN] as number)) + season;
    const spread = Math.max(MAD_TO_SIGMA * r.mad, 0.5 * Math.sqrt(level === 'none' ? (h[H_VAR] as number) : (h[H_RESID_VAR] as number)));
    PS[S_OWN_MEAN] = center;
    PS[S_OWN_VAR] = spread * spread;
  }

  /** Expectation blended with the population by credibility ('population' when the entity is new): into PS[S_MEAN] / PS[S_VAR], pBasis, pLevel. */
  private predictive(windowStart: number, population?: PopulationBaseline): void {
    const n = this.h[H_N] as number;
    const level = this.seasonLevel();
    if (n > 0) this.own(windowStart, level);
    else {
      PS[S_OWN_MEAN] = 0;
      PS[S_OWN_VAR] = 0;
    }
    pLevel = level;
    if (!population || !(population.count > 0)) {
      PS[S_MEAN] = PS[S_OWN_MEAN]!;
      PS[S_VAR] = PS[S_OWN_VAR]!;
      pBasis = 'entity';
      return;
    }
    const kind = this.options.kind;
    const popMean = population.mean(kind);
    const popVar = population.variance(kind);
    const w = n / (n + this.options.credibility);
    const d = PS[S_OWN_MEAN]! - popMean;
    PS[S_MEAN] = w * PS[S_OWN_MEAN]! + (1 - w) * popMean;
    PS[S_VAR] = w * PS[S_OWN_VAR]! + (1 - w) * popVar + w * (1 - w) * d * d;
    pBasis = n === 0 ? 'population' : 'blended';
  }

  /** Score one closed window (does not change state; call update() afterwards). */
  evaluate(observed: number, windowStart: number, population?: PopulationBaseline): Evaluation {
    this.predictive(windowStart, population);
    return this.score(observed, PS[S_MEAN]!, PS[S_VAR]!, windowStart, false, true);
  }

  /**
   * The upper bound evaluate(…, windowStart, population) would report, without the rest of the Evaluation
   * (memoized until the next update; a detector can compare counts with it as they come in).
   */
  upperBound(windowStart: number, population?: PopulationBaseline): number {
    const popN = population ? population.count : 0;
    if (this.memoAt === this.h[H_N] && this.memoWs === windowStart && this.memoPop === population && this.memoPopN === popN) return this.memoUpper;
    this.predictive(windowStart, population);
    const upper = this.upperOf(PS[S_MEAN]!, PS[S_VAR]!);
    this.memoAt = this.h[H_N] as number;
    this.memoWs = windowStart;
    this.memoPop = population;
    this.memoPopN = popN;
    this.memoUpper = upper;
    return upper;
  }

  /**
   * The closed-window decision of a baseline detector: the Evaluation when `observed` is above the upper bound and
   * scores at least `minScore`, otherwise null. Same outcome as
   * `const ev = evaluate(…); return observed > ev.upper && ev.score >= minScore ? ev : null`, but a count that
   * does not fire costs at most one tail probability (none when it is below the mean, or below a bound already
   * computed by upperBound()).
   */
  judge(observed: number, windowStart: number, population: PopulationBaseline | undefined, minScore: number): Evaluation | null {
    const t = this.t;
    if (t.count && t.up) {
      const popN = population ? population.count : 0;
      if (this.memoAt === this.h[H_N] && this.memoWs === windowStart && this.memoPop === population && this.memoPopN === popN) {
        if (!(observed > this.memoUpper)) return null;
      } else {
        this.predictive(windowStart, population);
        const m = Math.max(PS[S_MEAN]!, 0);
        if (m !== 0 && Number.isFinite(m)) {
          // the upper bound is never below floor(mean) − 1 (count-model.ts), and above it the bound is where the tail
          // drops to alpha: observed > upper ⇔ P(X >= observed) <= alpha (monotone tail)
          if (!(observed > Math.max(0, Math.floor(m) - 1))) return null;
          const logUp = logSfOf(observed, m, countDispersion(m, Math.max(PS[S_VAR]!, 0)));
          if (logUp > t.logAlpha || scoreFromLogP(logUp) < minScore) return null;
        }
      }
    } else if (t.up) {
      // continuous: the bound is one expm1, the tail one normalLogSf
      this.predictive(windowStart, population);
      const sd = Math.max(Math.sqrt(Math.max(PS[S_VAR]!, 0)), 1e-3);
      if (!(observed > Math.expm1(PS[S_MEAN]! + t.zb * sd))) return null;
      if (scoreFromLogP(normalLogSf((Math.log1p(Math.max(0, observed)) - PS[S_MEAN]!) / sd)) < minScore) return null;
    }
    const ev = this.evaluate(observed, windowStart, population);
    return observed > ev.upper && ev.score >= minScore ? ev : null;
  }

  /**
   * Early firing: `partial` events so far with `elapsed` (0–1] of the window gone. A count can only grow, so
   * exceeding the full window's upper bound is already certain. The score is against the prorated expectation.
   */
  evaluatePartial(partial: number, elapsed: number, windowStart: number, population?: PopulationBaseline): EarlyDecision {
    if (this.options.kind !== 'count') throw new Error('early firing applies to count metrics');
    const upper = this.upperBound(windowStart, population);
    this.predictive(windowStart, population);
    const m = Math.max(PS[S_MEAN]!, 0);
    const lower = lowerBoundOf(m, countDispersion(m, Math.max(PS[S_VAR]!, 0)), this.t.logAlpha);
    const f = Math.min(1, Math.max(elapsed, 1e-6));
    const prorated = this.score(partial, PS[S_MEAN]! * f, PS[S_VAR]! * f, windowStart, true, false);
    prorated.upper = upper;
    prorated.lower = lower;
    return { fire: partial > upper, evaluation: prorated };
  }

  private upperOf(mean: number, variance: number): number {
    const t = this.t;
    if (t.count) {
      const m = Math.max(mean, 0);
      return upperBoundOf(m, countDispersion(m, Math.max(variance, 0)), t.logAlpha);
    }
    const sd = Math.max(Math.sqrt(Math.max(variance, 0)), 1e-3);
    return Math.expm1(mean + t.zb * sd);
  }

  /** The Evaluation of `observed` against (mean, variance); bounds only when `bounds` (evaluatePartial sets its own). */
  private score(observed: number, mean: number, variance: number, windowStart: number, early: boolean, bounds: boolean): Evaluation {
    const t = this.t;
    const o = this.options;
    let expected: number;
    let lower = 0;
    let upper = 0;
    let spread: number;
    let logP: number;
    if (t.count) {
      const m = Math.max(mean, 0);
      const r = countDispersion(m, Math.max(variance, 0));
      expected = m;
      spread = Math.sqrt(r === Infinity ? m : m + (m * m) / r);
      if (bounds) {
        upper = upperBoundOf(m, r, t.logAlpha);
        lower = lowerBoundOf(m, r, t.logAlpha);
      }
      if (o.direction === 'up') logP = logSfOf(observed, m, r);
      else if (o.direction === 'down') logP = logCdfOf(observed, m, r);
      else logP = Math.min(0, Math.min(logSfOf(observed, m, r), logCdfOf(observed, m, r)) + Math.LN2);
    } else {
      const sd = Math.max(Math.sqrt(Math.max(variance, 0)), 1e-3);
      const z = (Math.log1p(Math.max(0, observed)) - mean) / sd;
      expected = Math.expm1(mean);
      spread = (Math.expm1(mean + sd) - Math.expm1(mean - sd)) / 2;
      if (bounds) {
        upper = Math.expm1(mean + t.zb * sd);
        lower = Math.max(0, Math.expm1(mean - t.zb * sd));
      }
      if (o.direction === 'up') logP = normalLogSf(z);
      else if (o.direction === 'down') logP = normalLogSf(-z);
      else logP = Math.min(0, Math.min(normalLogSf(z), normalLogSf(-z)) + Math.LN2);
    }
    const score = scoreFromLogP(logP);
    return {
      observed,
      expected,
      lower,
      upper,
      spread,
      logP,
      score,
      severity: severityFromScore(score),
      slot: slotLabelAt(windowStart, pLevel),
      seasonal: pLevel,
      basis: pBasis,
      early,
    };
  }

  /** Fold a closed window into the baseline (and into the population, when given). */
  update(observed: number, windowStart: number, population?: PopulationBaseline): void {
    const h = this.h;
    const f = this.f;
    const t = this.t;
    const o = this.options;
    const count = t.count;
    const n = h[H_N] as number;
    let y = this.transform(observed);
    if (n >= 8) {
      this.own(windowStart, this.seasonLevel());
      const cap = PS[S_OWN_MEAN]! + o.clipSpreads * Math.sqrt(Math.max(PS[S_OWN_VAR]!, count ? PS[S_OWN_MEAN]! : 0)) + (count ? 1 : 0);
      if (y > cap) y = cap;
    }
    if (n === 0) h[H_FIRST] = windowStart;
    h[H_LAST] = Math.max(h[H_LAST] as number, windowStart);
    // the EWMA step of ewma.ts, inlined (no allocation)
    let mean: number;
    let variance: number;
    if (n === 0) {
      mean = y;
      variance = 0;
    } else {
      const a = Math.max(t.alpha, 1 / (n + 1));
      const diff = y - (h[H_MEAN] as number);
      const incr = a * diff;
      mean = (h[H_MEAN] as number) + incr;
      variance = (1 - a) * ((h[H_VAR] as number) + diff * incr);
    }
    // seasonal: each slot learns its ratio (counts) or offset (continuous) to the running level
    const hodAt = t.ring + hourOfDay(windowStart);
    const dowAt = t.ring + HOURS + dayOfWeek(windowStart);
    const base = mean;
    if (count ? base > 0 : true) {
      const dowNow = f[dowAt] as number;
      const hodNow = f[hodAt] as number;
      const hodTarget = count ? y / (base * dowNow) : y - base - dowNow;
      const dowTarget = count ? y / (base * hodNow) : y - base - hodNow;
      // kept at bfloat16 precision (≈ 0.4 %, far below the noise of a seasonal factor): an idle entity then packs
      // each learned slot into 2 bytes, losslessly (state/baseline-codec.ts)
      f[hodAt] = toBf16(hodNow + t.seasonalAlpha * (hodTarget - hodNow));
      f[dowAt] = toBf16(dowNow + (t.seasonalAlpha / HOURS) * (dowTarget - dowNow));
    }
    const hod = f[hodAt] as number;
    const dow = f[dowAt] as number;
    const season = count ? hod * dow : hod + dow;
    const resid = count ? (season > 0 ? y / season : y) - mean : y - season - mean;
    h[H_RESID_VAR] = n === 0 ? 0 : (1 - Math.max(t.alpha, 1 / (n + 1))) * ((h[H_RESID_VAR] as number) + Math.max(t.alpha, 1 / (n + 1)) * resid * resid);
    h[H_MEAN] = mean;
    h[H_VAR] = variance;
    if (!count) {
      // the median/MAD ring is read by continuous metrics only; a count baseline leaves it untouched (4 bytes less when packed)
      const head = h[H_RING_HEAD] as number;
      f[head] = Math.fround(y);
      h[H_RING_HEAD] = (head + 1) % o.ringSize;
    }
    h[H_N] = n + 1;
    population?.observe(observed);
  }
}
