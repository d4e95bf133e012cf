import { scoreFromLogP } from './calibration.js';
import { alphaForHalfLife, ewmaStep } from './ewma.js';
import { MAD_TO_SIGMA, robustStats } from './robust.js';
import { ContextNovelty } from './series/context-novelty.js';
import { normalLogSf } from './special-functions.js';

/**
 * Univariate streaming detector for a metric series (one value per step). Two engines, chosen by `combine`:
 *
 *   contextual novelty (default, series/context-novelty.ts, after the idea of CAD OSE): the value is binned over
 *     the range of the learning period at a few resolutions; the score is the (information-weighted) share of the
 *     step's short contexts — preceding bins + current bin, and (time of day, bin) — that were never seen before.
 *   statistical ensemble, built from the pieces the entity baselines use (median/MAD over a bounded ring, EWMA
 *     moments, normal tails in log space, the shared −log10 p calibration):
 *       value      robust z of the value against the recent distribution (spikes, dips)
 *       change     robust z of the first difference against recent differences (sudden jumps)
 *       level      the mean of the last few values against the recent distribution (level shifts)
 *     whose surprise is judged against this series' own history of surprise (as Numenta's anomaly likelihood
 *     does), so a noisy series needs more evidence than a quiet one.
 *
 * A detection is followed by a rest period: with `restMode: 1` (default, as CAD OSE does) nothing is reported
 * while a raw score of the last `restPeriod` steps reached `fireScore`; with 0 scores are damped instead.
 * NAB measurements of every variant: scripts/nab/RESULTS.md.
 */
export interface SeriesDetectorOptions {
  /** Steps of learning before any score is reported (NAB: its probationary period). */
  probation: number;
  /** Steps after a detection during which scores are damped. */
  restPeriod: number;
  /** Recent values kept for median/MAD. */
  historySize: number;
  /** Steps averaged by the level-shift detector. */
  levelWindow: number;
  /** Steps averaged before comparing surprise with its history. */
  shortWindow: number;
  /** Half-life (steps) of the surprise history. */
  surpriseHalfLife: number;
  /** Score at which a detection starts the rest period. */
  fireScore: number;
  /** Factor applied to scores during the rest period. */
  restDamping: number;
  /** Recompute median/MAD every this many steps. */
  statsEvery: number;
  /** 1: judge surprise against the series' own surprise history; 0: use the ensemble p-value directly. */
  likelihood: number;
  /** 1: add the time-of-day context detector (needs timestamps). */
  seasonal: number;
  /** Smoothing of each time-of-day slot's level (per day). */
  seasonalAlpha: number;
  /** Extra decades of surprise per decade beyond the largest surprise seen so far (likelihood mode 2). */
  beyondWeight: number;
  /** How many times faster the remembered maximum surprise decays than the surprise histogram. */
  maxDecay: number;
  /** Bit set of context detectors: 1 value, 2 change, 4 level, 8 time-of-day residual, 16 time-of-day level. */
  detectors: number;
  /** Weight of the contextual novelty detector (0: off); combined with the statistical score by `combine`. */
  novelty: number;
  /** 0: max(statistical, weight × novelty); 1: novelty only; 2: statistical only; 3: (1 − statWeight) × novelty + statWeight × statistical. */
  combine: number;
  /** Share of the statistical score in the blend of combine mode 3. */
  statWeight: number;
  /** Finest quantisation bins of the novelty detector across the learning period's range. */
  noveltyLevels: number;
  /** Resolutions of the novelty detector (each halves the bins). */
  noveltyResolutions: number;
  /** Longest context (preceding steps) of the novelty detector. */
  noveltyOrder: number;
  /** Share of the learning period's range added on each side before the novelty detector bins values. */
  noveltyMargin: number;
  /** 1: weigh each context kind by the information of a novelty in it (see ContextNovelty.weighted). */
  noveltyWeighted: number;
  /** Half-life (steps) of the novelty detector's per-kind novelty rates. */
  noveltyRateHalfLife: number;
  /** Time-of-day slots per day of the novelty detector's (slot, value) contexts; 0: off. */
  noveltyTimeSlots: number;
  /** Ranges beyond the learned range that the novelty detector's resolution r ignores, times r. */
  noveltyOuterSlack: number;
  /** The novelty detector bins over the [q, 1 − q] quantiles of the learning period (0: min to max). */
  noveltyRangeQuantile: number;
  /** Weight of prediction failures of seen contexts in the novelty detector (0: novelty only). */
  noveltyPredictWeight: number;
  /** 0: damp scores during the rest period by restDamping; 1: report 0 while a raw score of the last restPeriod steps reached fireScore. */
  restMode: number;
}

/** Tuned on NAB (scripts/nab/RESULTS.md, run 63); the same values run for every series. */
export const DEFAULT_SERIES_OPTIONS: Readonly<SeriesDetectorOptions> = {
  probation: 750,
  restPeriod: 150,
  historySize: 256,
  levelWindow: 6,
  shortWindow: 4,
  surpriseHalfLife: 500,
  fireScore: 0.5,
  restDamping: 0.2,
  statsEvery: 1,
  likelihood: 2,
  seasonal: 1,
  seasonalAlpha: 0.3,
  beyondWeight: 1,
  maxDecay: 1,
  detectors: 29,
  novelty: 1,
  combine: 1,
  statWeight: 0.1,
  noveltyLevels: 16,
  noveltyResolutions: 4,
  noveltyOrder: 6,
  noveltyMargin: 0.1,
  noveltyWeighted: 1,
  noveltyRateHalfLife: 1000,
  noveltyTimeSlots: 12,
  noveltyOuterSlack: 0,
  noveltyRangeQuantile: 0,
  noveltyPredictWeight: 0,
  restMode: 1,
};

const CAP_DECADES = 40;
const DAY_MS = 86_400_000;
const HIST_STEP = 0.05;
const HIST_BINS = Math.ceil(CAP_DECADES / HIST_STEP) + 1;

/** Robust spread with floors, so flat or quantised series do not divide by zero. */
function spread(mad: number, std: number, center: number): number {
  return Math.max(MAD_TO_SIGMA * mad, 0.25 * std, 1e-6 * Math.abs(center), 1e-9);
}

class RingStats {
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private head = 0;
  private filled = 0;
  private sum = 0;
  private sumSq = 0;
  median = 0;
  mad = 0;
  std = 0;

  constructor(size: number) {
    this.ring = new Float64Array(size).fill(NaN);
    this.scratch = new Float64Array(size);
  }

  get count(): number {
    return this.filled;
  }

  push(x: number): void {
    const old = this.ring[this.head] as number;
    if (old === old) {
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.filled++;
    this.ring[this.head] = x;
    this.sum += x;
    this.sumSq += x * x;
    this.head = (this.head + 1) % this.ring.length;
  }

  refresh(): void {
    const r = robustStats(this.ring, this.scratch);
    this.median = r.median;
    this.mad = r.mad;
    const n = this.filled;
    const mean = this.sum / n;
    this.std = Math.sqrt(Math.max(0, this.sumSq / n - mean * mean));
  }

  z(x: number): number {
    return (x - this.median) / spread(this.mad, this.std, this.median);
  }
}

/**
 * Exponentially decayed histogram of a non-negative statistic: ln of the share of its past values at or above a
 * new one, with extra decades for going beyond the largest value remembered.
 */
class EmpiricalTail {
  private readonly hist = new Float64Array(HIST_BINS);
  private total = 0;
  private max = 0;
  private seen = 0;

  constructor(
    private readonly keep: number,
    private readonly maxKeep: number,
    private readonly beyondWeight: number,
  ) {}

  logSf(v: number): number {
    if (this.total < 10) return 0;
    const bin = Math.min(HIST_BINS - 1, Math.floor(v / HIST_STEP));
    let above = 0;
    if (bin < HIST_BINS / 2) {
      let below = 0;
      for (let b = 0; b < bin; b++) below += this.hist[b] as number;
      above = this.total - below;
    } else for (let b = bin; b < HIST_BINS; b++) above += this.hist[b] as number;
    const share = Math.max(above, 0.5) / (this.total + 1);
    return Math.log(Math.min(1, share)) - Math.max(0, v - this.max) * Math.LN10 * this.beyondWeight;
  }

  record(v: number): void {
    if (++this.seen % 64 === 0) {
      const f = Math.pow(this.keep, 64);
      let total = 0;
      for (let b = 0; b < HIST_BINS; b++) total += this.hist[b] = (this.hist[b] as number) * f;
      this.total = total;
      this.max *= Math.pow(this.maxKeep, 64);
    }
    const bin = Math.min(HIST_BINS - 1, Math.floor(Math.min(v, CAP_DECADES) / HIST_STEP));
    this.hist[bin] = (this.hist[bin] as number) + 1;
    this.total += 1;
    if (v > this.max) this.max = v;
  }
}

export class SeriesDetector {
  private readonly o: SeriesDetectorOptions;
  private readonly values: RingStats;
  private readonly diffs: RingStats;
  private readonly recent: Float64Array;
  private readonly surprises: Float64Array;
  private readonly surpriseAlpha: number;
  private surpriseMoments = { mean: 0, variance: 0 };
  private step = 0;
  private prev = NaN;
  private lastFire = -Infinity;
  private recentScores: Float64Array | undefined;
  private readonly tails: EmpiricalTail[];
  private readonly surpriseTail: EmpiricalTail;
  private readonly zs = new Float64Array(5);
  private readonly residuals: RingStats;
  private readonly recentResiduals: Float64Array;
  private slotLevel: Float64Array | undefined;
  private slotSeen: Uint16Array | undefined;
  private slotMs = 0;
  private firstT = NaN;
  private prevT = NaN;
  private readonly contexts: ContextNovelty | undefined;
  private readonly rawScores: Float64Array;

  constructor(options: Partial<SeriesDetectorOptions> = {}) {
    this.o = { ...DEFAULT_SERIES_OPTIONS, ...options };
    this.values = new RingStats(this.o.historySize);
    this.diffs = new RingStats(this.o.historySize);
    this.recent = new Float64Array(this.o.levelWindow).fill(NaN);
    this.surprises = new Float64Array(this.o.shortWindow);
    this.surpriseAlpha = alphaForHalfLife(this.o.surpriseHalfLife);
    this.residuals = new RingStats(this.o.historySize);
    const keep = 1 - this.surpriseAlpha;
    const maxKeep = Math.pow(keep, this.o.maxDecay);
    this.tails = Array.from({ length: 5 }, () => new EmpiricalTail(keep, maxKeep, this.o.beyondWeight));
    this.surpriseTail = new EmpiricalTail(keep, maxKeep, this.o.beyondWeight);
    this.recentResiduals = new Float64Array(this.o.levelWindow).fill(NaN);
    this.rawScores = new Float64Array(Math.max(1, this.o.restPeriod));
    if (this.o.novelty > 0 || this.o.combine === 1)
      this.contexts = new ContextNovelty({
        warmup: Math.max(16, this.o.probation),
        levels: this.o.noveltyLevels,
        resolutions: this.o.noveltyResolutions,
        maxOrder: this.o.noveltyOrder,
        margin: this.o.noveltyMargin,
        weighted: this.o.noveltyWeighted,
        rateHalfLife: this.o.noveltyRateHalfLife,
        timeSlots: this.o.noveltyTimeSlots,
        outerSlack: this.o.noveltyOuterSlack,
        rangeQuantile: this.o.noveltyRangeQuantile,
        predictWeight: this.o.noveltyPredictWeight,
      });
  }

  /**
   * Time-of-day context: the residual of x against the level its slot (time of day at the series' sampling
   * step) had on previous days. NaN until two days of history exist.
   */
  private seasonalResidual(x: number, t: number): number {
    if (!(this.o.seasonal && t === t)) return NaN;
    if (this.firstT !== this.firstT) this.firstT = t;
    if (!this.slotLevel) {
      if (this.prevT !== this.prevT) {
        this.prevT = t;
        return NaN;
      }
      this.slotMs = Math.max(60_000, t - this.prevT);
      const slots = Math.ceil(DAY_MS / this.slotMs);
      this.slotLevel = new Float64Array(slots).fill(NaN);
      this.slotSeen = new Uint16Array(slots);
    }
    const slot = Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / this.slotMs);
    const level = this.slotLevel[slot] as number;
    const seen = this.slotSeen as Uint16Array;
    const residual = t - this.firstT >= 2 * DAY_MS && (seen[slot] as number) >= 2 ? x - level : NaN;
    this.slotLevel[slot] = level === level ? level + this.o.seasonalAlpha * (x - level) : x;
    seen[slot] = Math.min(65535, (seen[slot] as number) + 1);
    return residual;
  }

  /** Feed the next value; returns its anomaly score in [0, 1]. */
  next(x: number, t = NaN): number {
    const o = this.o;
    const i = this.step++;
    const logP = o.combine === 1 ? 0 : this.statisticalLogP(x, t, i);
    const novelty = this.contexts ? this.contexts.next(x, t) : 0;
    if (i < o.probation) return 0;
    const statScore = scoreFromLogP(logP);
    let score =
      o.combine === 1
        ? novelty
        : o.combine === 2
          ? statScore
          : o.combine === 3
            ? (1 - o.statWeight) * novelty + o.statWeight * statScore
            : Math.max(statScore, o.novelty * novelty);
    if (o.restMode === 1) {
      const ring = this.rawScores;
      let resting = false;
      for (const v of ring) if (v >= o.fireScore) resting = true;
      ring[i % ring.length] = score;
      return resting ? 0 : score;
    }
    if (o.fireScore > 0) {
      if (i - this.lastFire <= o.restPeriod) score *= o.restDamping;
      else if (score >= o.fireScore) this.lastFire = i;
      return score;
    }
    // threshold-free rest: only a score above every raw score of the last restPeriod steps is reported in full
    const ring = (this.recentScores ??= new Float64Array(Math.max(1, o.restPeriod)));
    let peak = 0;
    for (const v of ring) if (v > peak) peak = v;
    ring[i % ring.length] = score;
    return score > peak ? score : score * o.restDamping;
  }

  /** The statistical ensemble: ln p of the current surprise against this series' own history of surprise. */
  private statisticalLogP(x: number, t: number, i: number): number {
    const o = this.o;
    const residual = this.seasonalResidual(x, t);
    if (residual === residual) this.recentResiduals[i % o.levelWindow] = residual;
    const diff = this.prev === this.prev ? x - this.prev : 0;
    this.recent[i % o.levelWindow] = x;

    let decades = 0;
    if (this.values.count >= 8) {
      if (i % o.statsEvery === 0) {
        this.values.refresh();
        this.diffs.refresh();
      }
      let level = 0;
      let k = 0;
      for (const v of this.recent) if (v === v) ((level += v), k++);
      const zs = this.zs.fill(NaN);
      zs[0] = Math.abs(this.values.z(x));
      zs[1] = Math.abs(this.diffs.z(diff));
      zs[2] = Math.abs(this.values.z(level / k));
      if (residual === residual && this.residuals.count >= 8) {
        if (i % o.statsEvery === 0) this.residuals.refresh();
        let rl = 0;
        let rk = 0;
        for (const v of this.recentResiduals) if (v === v) ((rl += v), rk++);
        zs[3] = Math.abs(this.residuals.z(residual));
        zs[4] = Math.abs(this.residuals.z(rl / rk));
      }
      let logP = 0;
      let used = 0;
      for (let j = 0; j < 5; j++) {
        const z = zs[j] as number;
        if (!((o.detectors >> j) & 1) || z !== z) continue;
        used++;
        // mode 3: each detector judged against its own history first (heavy tails of one do not dominate)
        const lp = o.likelihood === 3 ? this.tails[j]!.logSf(Math.min(z, CAP_DECADES)) : normalLogSf(z);
        if (o.likelihood === 3) this.tails[j]!.record(z);
        if (lp < logP) logP = lp;
      }
      logP += Math.log(Math.max(1, used));
      decades = Math.min(CAP_DECADES, Math.max(0, -logP / Math.LN10));
    }
    this.values.push(x);
    this.diffs.push(diff);
    if (residual === residual) this.residuals.push(residual);
    this.prev = x;

    // surprise relative to this series' own history of surprise
    this.surprises[i % o.shortWindow] = decades;
    let short = 0;
    for (const s of this.surprises) short += s;
    short /= o.shortWindow;
    const m = this.surpriseMoments;
    const sd = Math.sqrt(m.variance) + 0.1;
    let logP: number;
    if (o.likelihood >= 2) {
      logP = this.surpriseTail.logSf(short);
      this.surpriseTail.record(short);
    } else logP = o.likelihood ? (i > o.shortWindow ? normalLogSf((short - m.mean) / sd) : 0) : -decades * Math.LN10;
    this.surpriseMoments = ewmaStep(m, decades, this.surpriseAlpha, i);
    return logP;
  }
}
