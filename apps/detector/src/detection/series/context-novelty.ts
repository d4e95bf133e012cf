/**
 * Contextual sequence-novelty detector for a univariate series.
 *
 * Idea (not code) from the Contextual Anomaly Detector, CAD OSE (M. Smirnov, NAB 2016): discretise each value
 * into a few bits, learn the short contexts ("which facts followed which") that occur online, and score a step by
 * the share of its contexts that were never seen before. A normal repeating pattern reuses old contexts and
 * scores 0; a spike, a dip, a level shift or a changed rhythm produces contexts never met and scores high.
 *
 * Our own formulation: the facts of a step are its quantisation bin at `resolutions` resolutions (the finest has
 * `levels` bins over the range learned during warm-up, each coarser one halves them; values outside that range
 * get bins of their own beyond it). The contexts of a step are, for every resolution and every order k = 0..maxOrder,
 * the k preceding bins plus the current one. The score is the share of these contexts never seen before. Contexts
 * are keyed by a 53-bit hash of their bins (a Map per context kind; a collision can only hide a novelty), which is
 * deterministic, and their number is bounded by `maxContexts`.
 *
 * The quantisation range is fixed from the warm-up values (NAB's probationary period), which are then replayed
 * through the learner, so the contexts learned and the ones scored use the same bins.
 */
export interface ContextNoveltyOptions {
  /** Values buffered before the range is fixed; the learner scores 0 until then. */
  warmup: number;
  /** Bins of the finest resolution across the warm-up range. */
  levels: number;
  /** Number of resolutions (the finest, then halved, ...). */
  resolutions: number;
  /** Longest context: preceding steps joined to the current bin. */
  maxOrder: number;
  /** Share of the warm-up range added on each side before binning. */
  margin: number;
  /** The range is the [q, 1 − q] quantile interval of the warm-up values (0: their min and max). */
  rangeQuantile: number;
  /** Bins beyond the range on each side are capped at this many ranges away. */
  outerRanges: number;
  /** Ranges a resolution r ignores beyond the learned range, times r (0: every resolution bins from the edge). */
  outerSlack: number;
  /** Learning stops adding new contexts when this many are stored (old ones are still counted). */
  maxContexts: number;
  /**
   * 0: every context kind (resolution × order) weighs the same. 1: a kind weighs the information of a novelty in it,
   * −ln(its decayed rate of novelty), so kinds that are novel all the time (long, fine contexts on a noisy series)
   * count little and a novelty where novelties are rare counts much.
   */
  weighted: number;
  /**
   * 0: a seen context counts as not novel. λ > 0: a seen context of order ≥ 1 counts λ × (1 − p), p the share of its
   * prefix's past occurrences that it followed (a prediction failure in the spirit of CAD's active-context share).
   */
  predictWeight: number;
  /** Half-life (steps) of the per-kind novelty rate. */
  rateHalfLife: number;
  /**
   * 0: off. n: also judge the pair (time-of-day slot, bin) at every resolution, with n slots per day (UTC), so the
   * same value at an unusual time of day is a novel context. Needs timestamps.
   */
  timeSlots: number;
}

export const DEFAULT_CONTEXT_NOVELTY_OPTIONS: Readonly<ContextNoveltyOptions> = {
  warmup: 750,
  levels: 8,
  resolutions: 3,
  maxOrder: 6,
  margin: 0,
  rangeQuantile: 0,
  outerRanges: 4,
  outerSlack: 0,
  maxContexts: 1 << 20,
  weighted: 0,
  rateHalfLife: 1000,
  predictWeight: 0,
  timeSlots: 0,
};

const DAY_MS = 86_400_000;

export class ContextNovelty {
  private readonly o: ContextNoveltyOptions;
  private readonly buffer: number[] = [];
  private readonly times: number[] = [];
  private lo = NaN;
  private step = 1;
  /** Recent finest bins, newest last. */
  private readonly recent: number[] = [];
  private readonly seen: Map<number, number>[];
  private stored = 0;
  /** Per context kind: decayed count of novelties and of steps judged. */
  private readonly novelties: Float64Array;
  private readonly judgedSteps: Float64Array;
  private readonly isNovel: Float64Array;
  /** Per context kind: how often the context of the previous step had occurred (including that step). */
  private readonly prevCounts: Float64Array;
  private readonly counts: Float64Array;
  private readonly keep: number;

  constructor(options: Partial<ContextNoveltyOptions> = {}) {
    this.o = { ...DEFAULT_CONTEXT_NOVELTY_OPTIONS, ...options };
    if (!(this.o.levels >= 2)) throw new RangeError(`levels must be >= 2, got ${this.o.levels}`);
    const kinds = this.o.resolutions * (this.o.maxOrder + 1) + (this.o.timeSlots > 0 ? this.o.resolutions : 0);
    this.seen = Array.from({ length: kinds }, () => new Map<number, number>());
    this.novelties = new Float64Array(this.seen.length);
    this.judgedSteps = new Float64Array(this.seen.length);
    this.isNovel = new Float64Array(this.seen.length);
    this.prevCounts = new Float64Array(this.seen.length);
    this.counts = new Float64Array(this.seen.length);
    this.keep = Math.pow(0.5, 1 / this.o.rateHalfLife);
  }

  get ready(): boolean {
    return this.lo === this.lo;
  }

  /** Number of contexts a step is judged on. */
  get contextsPerStep(): number {
    return this.seen.length;
  }

  /** Feed the next value; returns the share of its contexts never seen before (0 during warm-up). */
  next(x: number, t = NaN): number {
    if (!this.ready) {
      this.buffer.push(x);
      this.times.push(t);
      if (this.buffer.length >= Math.max(2, this.o.warmup)) this.fix();
      return 0;
    }
    return this.observe(x, t);
  }

  private fix(): void {
    const sorted = Float64Array.from(this.buffer).sort();
    const last = sorted.length - 1;
    const q = Math.min(0.49, Math.max(0, this.o.rangeQuantile));
    const lo = sorted[Math.floor(q * last)] as number;
    const hi = sorted[Math.ceil((1 - q) * last)] as number;
    let range = hi - lo;
    if (!(range > 0)) range = Math.max(Math.abs(hi) * 0.01, 1e-9);
    range *= 1 + 2 * this.o.margin;
    this.lo = lo - (range * this.o.margin) / (1 + 2 * this.o.margin);
    this.step = range / this.o.levels;
    this.buffer.forEach((v, i) => this.observe(v, this.times[i] as number));
    this.buffer.length = 0;
    this.times.length = 0;
  }

  /**
   * Bin of x at resolution r (bins 2^r times as wide as the finest). Beyond the learned range a coarser resolution
   * first gives way `outerSlack × r` ranges, so a small excursion is new only to the fine resolutions and a far
   * one to all of them.
   */
  private digit(x: number, r: number): number {
    const o = this.o;
    const width = this.step * (1 << r);
    const range = this.step * o.levels;
    const hi = this.lo + range;
    const slack = o.outerSlack * r * range;
    let y = x;
    if (x >= hi) y = x - slack < hi ? hi - width / 2 : x - slack;
    else if (x < this.lo) y = x + slack >= this.lo ? this.lo : x + slack;
    const b = Math.floor((y - this.lo) / width);
    // the top of the range belongs to the last bin
    if (y === hi) return b - 1;
    const cap = (o.levels * o.outerRanges) >> r;
    return Math.max(-cap, Math.min((o.levels >> r) + cap, b));
  }

  private observe(x: number, t: number): number {
    const o = this.o;
    const recent = this.recent;
    for (let r = 0; r < o.resolutions; r++) recent.push(this.digit(x, r));
    if (recent.length > (o.maxOrder + 1) * o.resolutions) recent.splice(0, o.resolutions);
    // recent holds, per step (oldest first), the digits of every resolution
    const n = recent.length / o.resolutions;
    const isNovel = this.isNovel.fill(2);
    for (let r = 0; r < o.resolutions; r++) {
      let h1 = 0x9e3779b9;
      let h2 = 0x85ebca6b;
      for (let k = 0; k <= o.maxOrder; k++) {
        if (k >= n) break;
        const digit = recent[(n - 1 - k) * o.resolutions + r] as number;
        h1 = Math.imul(h1 ^ digit, 0x01000193) ^ (h1 >>> 15);
        h2 = Math.imul(h2 + digit, 0x5bd1e995) ^ (h2 >>> 13);
        const key = (h1 >>> 0) * 2097152 + ((h2 >>> 0) & 0x1fffff);
        const kind = r * (o.maxOrder + 1) + k;
        const map = this.seen[kind] as Map<number, number>;
        const count = map.get(key);
        if (count === undefined) {
          isNovel[kind] = 1;
          this.counts[kind] = 1;
          if (this.stored < o.maxContexts) {
            map.set(key, 1);
            this.stored++;
          }
        } else {
          const prefix = (this.prevCounts[kind - 1] as number) - 1;
          isNovel[kind] = k > 0 && o.predictWeight > 0 && prefix > 0 ? o.predictWeight * Math.max(0, 1 - count / prefix) : 0;
          this.counts[kind] = count + 1;
          map.set(key, count + 1);
        }
      }
    }
    this.prevCounts.set(this.counts);
    if (o.timeSlots > 0 && t === t) {
      const slot = Math.floor(((((t % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS) * o.timeSlots);
      for (let r = 0; r < o.resolutions; r++) {
        const kind = o.resolutions * (o.maxOrder + 1) + r;
        const key = slot * 4096 + (recent[(n - 1) * o.resolutions + r] as number) + 2048;
        const map = this.seen[kind] as Map<number, number>;
        const count = map.get(key);
        isNovel[kind] = count === undefined ? 1 : 0;
        if (count !== undefined) map.set(key, count + 1);
        else if (this.stored < o.maxContexts) (map.set(key, 1), this.stored++);
      }
    }
    let novel = 0;
    let judged = 0;
    for (let kind = 0; kind < isNovel.length; kind++) {
      const v = isNovel[kind] as number;
      if (v === 2) continue;
      const w = o.weighted ? -Math.log(((this.novelties[kind] as number) + 0.5) / ((this.judgedSteps[kind] as number) + 1)) : 1;
      judged += w;
      novel += v * w;
      this.novelties[kind] = (this.novelties[kind] as number) * this.keep + v;
      this.judgedSteps[kind] = (this.judgedSteps[kind] as number) * this.keep + 1;
    }
    return judged > 0 ? novel / judged : 0;
  }
}
