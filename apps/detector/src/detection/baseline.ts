import type { Severity } from '@vigil/contracts';
import { scoreFromLogP, severityFromScore } from './calibration.js';
import { countDistribution, countLogCdf, countLogSf, countLowerBound, countUpperBound, countVariance, type CountDistribution } from './count-model.js';
import { alphaForHalfLife, ewmaStep } from './ewma.js';
import { MAD_TO_SIGMA, robustStats } from './robust.js';
import { seasonalLevel, seasonalSlot, slotLabel, type SeasonalLevel } from './seasonal.js';
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

  /** Fold in one closed window of any entity. */
  observe(value: number): void {
    const s = this.s;
    const n = s[P_N] as number;
    const m = ewmaStep({ mean: s[P_MEAN] as number, variance: s[P_VAR] as number }, value, this.alpha, n);
    const l = ewmaStep({ mean: s[P_LOG_MEAN] as number, variance: s[P_LOG_VAR] as number }, Math.log1p(Math.max(0, value)), this.alpha, n);
    s[P_MEAN] = m.mean;
    s[P_VAR] = m.variance;
    s[P_LOG_MEAN] = l.mean;
    s[P_LOG_VAR] = l.variance;
    s[P_N] = n + 1;
  }

  moments(kind: MetricKind): { mean: number; variance: number } {
    const s = this.s;
    return kind === 'count'
      ? { mean: s[P_MEAN] as number, variance: s[P_VAR] as number }
      : { mean: s[P_LOG_MEAN] as number, variance: s[P_LOG_VAR] as number };
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

export class EntityBaseline {
  private readonly h: Float64Array;
  /** ring (ringSize) | hour-of-day (24) | day-of-week (7), one view to keep the idle footprint small. */
  private readonly f: Float32Array;
  private readonly alpha: number;
  private readonly seasonalAlpha: number;

  constructor(
    readonly options: BaselineOptions = DEFAULT_BASELINE_OPTIONS,
    bytes?: Uint8Array,
  ) {
    const size = EntityBaseline.byteLength(options);
    const buf = new ArrayBuffer(size);
    if (bytes) {
      if (bytes.byteLength !== size + 1 || bytes[0] !== STATE_VERSION) {
        throw new Error(`baseline state: expected ${size + 1} bytes of version ${STATE_VERSION}, got ${bytes.byteLength}`);
      }
      new Uint8Array(buf).set(bytes.subarray(1));
    }
    this.h = new Float64Array(buf, 0, HEADER);
    this.f = new Float32Array(buf, HEADER * 8, options.ringSize + HOURS + DAYS);
    if (!bytes) {
      this.f.fill(NaN, 0, options.ringSize);
      this.f.fill(options.kind === 'count' ? 1 : 0, options.ringSize);
    }
    this.alpha = alphaForHalfLife(options.halfLife);
    this.seasonalAlpha = alphaForHalfLife(options.seasonalHalfLife);
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
    const out = new Uint8Array(1 + this.h.buffer.byteLength);
    out[0] = STATE_VERSION;
    out.set(new Uint8Array(this.h.buffer), 1);
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
    return this.options.kind === 'count' ? x : Math.log1p(Math.max(0, x));
  }

  private untransform(y: number): number {
    return this.options.kind === 'count' ? y : Math.expm1(y);
  }

  private seasonLevel(): SeasonalLevel {
    const n = this.h[H_N] as number;
    return n === 0 ? 'none' : seasonalLevel((this.h[H_LAST] as number) - (this.h[H_FIRST] as number));
  }

  /** Seasonal adjustment for a window start: a factor (counts) or an offset in log space (continuous). */
  private season(windowStart: number, level: SeasonalLevel): number {
    const count = this.options.kind === 'count';
    if (level === 'none') return count ? 1 : 0;
    const { hourOfDay, dayOfWeek } = seasonalSlot(windowStart);
    const hod = this.f[this.options.ringSize + hourOfDay] as number;
    const dow = level === 'hour-of-week' ? (this.f[this.options.ringSize + HOURS + dayOfWeek] as number) : count ? 1 : 0;
    return count ? hod * dow : hod + dow;
  }

  /** Own expectation and variance (transformed space) for a window, before population blending. */
  private own(windowStart: number, level: SeasonalLevel): { mean: number; variance: number } {
    const h = this.h;
    const season = this.season(windowStart, level);
    if (this.options.kind === 'count') {
      if (level === 'none') return { mean: h[H_MEAN] as number, variance: h[H_VAR] as number };
      return { mean: (h[H_MEAN] as number) * season, variance: (h[H_RESID_VAR] as number) * season * season };
    }
    const r = robustStats(this.f.subarray(0, this.options.ringSize));
    const center = (r.count >= 3 ? r.median : (h[H_MEAN] as number)) + season;
    const spread = Math.max(MAD_TO_SIGMA * r.mad, 0.5 * Math.sqrt(level === 'none' ? (h[H_VAR] as number) : (h[H_RESID_VAR] as number)));
    return { mean: center, variance: spread * spread };
  }

  /** Expectation blended with the population by credibility; 'population' when the entity is new. */
  private predictive(windowStart: number, population?: PopulationBaseline): { mean: number; variance: number; basis: Evaluation['basis']; level: SeasonalLevel } {
    const n = this.h[H_N] as number;
    const level = this.seasonLevel();
    const own = n > 0 ? this.own(windowStart, level) : { mean: 0, variance: 0 };
    const pop = population && population.count > 0 ? population.moments(this.options.kind) : undefined;
    if (!pop) return { ...own, basis: 'entity', level };
    const w = n / (n + this.options.credibility);
    const d = own.mean - pop.mean;
    return {
      mean: w * own.mean + (1 - w) * pop.mean,
      variance: w * own.variance + (1 - w) * pop.variance + w * (1 - w) * d * d,
      basis: n === 0 ? 'population' : 'blended',
      level,
    };
  }

  /** Score one closed window (does not change state; call update() afterwards). */
  evaluate(observed: number, windowStart: number, population?: PopulationBaseline): Evaluation {
    const p = this.predictive(windowStart, population);
    return this.score(observed, p, windowStart, false);
  }

  /**
   * Early firing: `partial` events so far with `elapsed` (0–1] of the window gone. A count can only grow, so
   * exceeding the full window's upper bound is already certain. The score is against the prorated expectation.
   */
  evaluatePartial(partial: number, elapsed: number, windowStart: number, population?: PopulationBaseline): EarlyDecision {
    if (this.options.kind !== 'count') throw new Error('early firing applies to count metrics');
    const p = this.predictive(windowStart, population);
    const full = this.score(partial, p, windowStart, true);
    const f = Math.min(1, Math.max(elapsed, 1e-6));
    const prorated = this.score(partial, { ...p, mean: p.mean * f, variance: p.variance * f }, windowStart, true);
    return { fire: partial > full.upper, evaluation: { ...prorated, upper: full.upper, lower: full.lower } };
  }

  private score(observed: number, p: { mean: number; variance: number; basis: Evaluation['basis']; level: SeasonalLevel }, windowStart: number, early: boolean): Evaluation {
    const o = this.options;
    const logAlpha = Math.log(o.boundAlpha);
    let expected: number;
    let lower: number;
    let upper: number;
    let spread: number;
    let logUp: number;
    let logDown: number;
    if (o.kind === 'count') {
      const d: CountDistribution = countDistribution(p.mean, Math.max(p.variance, 0));
      expected = d.mean;
      spread = Math.sqrt(countVariance(d));
      upper = countUpperBound(d, logAlpha);
      lower = countLowerBound(d, logAlpha);
      logUp = countLogSf(observed, d);
      logDown = countLogCdf(observed, d);
    } else {
      const sd = Math.max(Math.sqrt(Math.max(p.variance, 0)), 1e-3);
      const z = (this.transform(observed) - p.mean) / sd;
      const zb = -normalQuantile(o.boundAlpha);
      expected = this.untransform(p.mean);
      spread = (this.untransform(p.mean + sd) - this.untransform(p.mean - sd)) / 2;
      upper = this.untransform(p.mean + zb * sd);
      lower = Math.max(0, this.untransform(p.mean - zb * sd));
      logUp = normalLogSf(z);
      logDown = normalLogSf(-z);
    }
    const logP = o.direction === 'up' ? logUp : o.direction === 'down' ? logDown : Math.min(0, Math.min(logUp, logDown) + Math.LN2);
    const score = scoreFromLogP(logP);
    const slot = slotLabel(seasonalSlot(windowStart), p.level);
    return { observed, expected, lower, upper, spread, logP, score, severity: severityFromScore(score), slot, seasonal: p.level, basis: p.basis, early };
  }

  /** Fold a closed window into the baseline (and into the population, when given). */
  update(observed: number, windowStart: number, population?: PopulationBaseline): void {
    const h = this.h;
    const o = this.options;
    const n = h[H_N] as number;
    let y = this.transform(observed);
    if (n >= 8) {
      const level = this.seasonLevel();
      const own = this.own(windowStart, level);
      const cap = own.mean + o.clipSpreads * Math.sqrt(Math.max(own.variance, o.kind === 'count' ? own.mean : 0)) + (o.kind === 'count' ? 1 : 0);
      if (y > cap) y = cap;
    }
    if (n === 0) h[H_FIRST] = windowStart;
    h[H_LAST] = Math.max(h[H_LAST] as number, windowStart);
    const m = ewmaStep({ mean: h[H_MEAN] as number, variance: h[H_VAR] as number }, y, this.alpha, n);
    // seasonal: each slot learns its ratio (counts) or offset (continuous) to the running level
    const { hourOfDay, dayOfWeek } = seasonalSlot(windowStart);
    const count = o.kind === 'count';
    const base = m.mean;
    if (count ? base > 0 : true) {
      const hodAt = o.ringSize + hourOfDay;
      const dowAt = o.ringSize + HOURS + dayOfWeek;
      const dowNow = this.f[dowAt] as number;
      const hodNow = this.f[hodAt] as number;
      const hodTarget = count ? y / (base * dowNow) : y - base - dowNow;
      const dowTarget = count ? y / (base * hodNow) : y - base - hodNow;
      // kept at bfloat16 precision (≈ 0.4 %, far below the noise of a seasonal factor): an idle entity then packs
      // each learned slot into 2 bytes, losslessly (state/baseline-codec.ts)
      this.f[hodAt] = toBf16(hodNow + this.seasonalAlpha * (hodTarget - hodNow));
      this.f[dowAt] = toBf16(dowNow + (this.seasonalAlpha / HOURS) * (dowTarget - dowNow));
    }
    const season = this.season(windowStart, 'hour-of-week');
    const resid = count ? (season > 0 ? y / season : y) - m.mean : y - season - m.mean;
    h[H_RESID_VAR] = n === 0 ? 0 : (1 - Math.max(this.alpha, 1 / (n + 1))) * ((h[H_RESID_VAR] as number) + Math.max(this.alpha, 1 / (n + 1)) * resid * resid);
    h[H_MEAN] = m.mean;
    h[H_VAR] = m.variance;
    if (!count) {
      // the median/MAD ring is read by continuous metrics only; a count baseline leaves it untouched (4 bytes less when packed)
      const head = h[H_RING_HEAD] as number;
      this.f[head] = y;
      h[H_RING_HEAD] = (head + 1) % o.ringSize;
    }
    h[H_N] = n + 1;
    population?.observe(observed);
  }
}
