import { negBinomialLogCdf, negBinomialLogSf, normalQuantile, poissonLogCdf, poissonLogSf } from './special-functions.js';

/**
 * Predictive distribution of a window count: Poisson when the history is not overdispersed,
 * negative binomial (mean, dispersion r; variance = mean + mean²/r) when it is.
 */
export interface CountDistribution {
  mean: number;
  /** Infinity means Poisson. */
  dispersion: number;
}

/** Variance-to-mean above which the negative binomial replaces the Poisson. */
const OVERDISPERSION = 1.05;

export function countDistribution(mean: number, variance: number): CountDistribution {
  const m = Math.max(mean, 0);
  return { mean: m, dispersion: countDispersion(m, variance) };
}

/** The dispersion countDistribution picks for a (non-negative) mean and a variance; Infinity means Poisson. */
export function countDispersion(m: number, variance: number): number {
  if (!(variance > m * OVERDISPERSION) || m === 0) return Infinity;
  return (m * m) / (variance - m);
}

export function countVariance(d: CountDistribution): number {
  return varianceOf(d.mean, d.dispersion);
}

function varianceOf(mean: number, dispersion: number): number {
  return dispersion === Infinity ? mean : mean + (mean * mean) / dispersion;
}

/** ln P(X >= k). */
export function countLogSf(k: number, d: CountDistribution): number {
  return logSfOf(k, d.mean, d.dispersion);
}

/** ln P(X >= k) for the count distribution (mean, dispersion) given as numbers. */
export function logSfOf(k: number, mean: number, dispersion: number): number {
  if (mean === 0) return k <= 0 ? 0 : -Infinity;
  return dispersion === Infinity ? poissonLogSf(k, mean) : negBinomialLogSf(k, mean, dispersion);
}

/** ln P(X <= k). */
export function countLogCdf(k: number, d: CountDistribution): number {
  return logCdfOf(k, d.mean, d.dispersion);
}

/** ln P(X <= k) for the count distribution (mean, dispersion) given as numbers. */
export function logCdfOf(k: number, mean: number, dispersion: number): number {
  if (mean === 0) return k >= 0 ? 0 : -Infinity;
  return dispersion === Infinity ? poissonLogCdf(k, mean) : negBinomialLogCdf(k, mean, dispersion);
}

/**
 * Bounds are found by the same tail functions as the scores, tested at a Cornish–Fisher guess of the quantile and
 * then galloped/bisected from there: usually two or three tail evaluations instead of a dozen for a bisection from
 * the mean. The result is the same integer a plain bisection over the same predicate gives (the predicate is
 * monotone), see count-model.spec.ts.
 */
const zCache = new Map<number, number>();

/** z with P(Z > z) = e^logAlpha for a standard normal (memoized: one per configured alpha). */
function zFor(logAlpha: number): number {
  let z = zCache.get(logAlpha);
  if (z === undefined) {
    z = -normalQuantile(Math.exp(logAlpha));
    if (!Number.isFinite(z)) z = 0;
    if (zCache.size < 64) zCache.set(logAlpha, z);
  }
  return z;
}

/** Skewness of the count distribution. */
function skewOf(mean: number, dispersion: number): number {
  if (dispersion === Infinity) return 1 / Math.sqrt(mean);
  const q = mean / (dispersion + mean);
  return (1 + q) / Math.sqrt(dispersion * q);
}

/** Cornish–Fisher approximation of the (1 − alpha) quantile (z > 0) or the alpha quantile (z < 0). */
function quantileGuess(mean: number, dispersion: number, z: number): number {
  const sd = Math.sqrt(varianceOf(mean, dispersion));
  const g = skewOf(mean, dispersion);
  const x = mean + sd * (z + ((z * z - 1) * g) / 6);
  return Number.isFinite(x) ? x : mean;
}

// the distribution under search (module state instead of a closure per search)
let qMean = 0;
let qDisp = Infinity;
let qLogAlpha = 0;
let qCap = 0;

/** Upper-bound predicate: P(X > u) <= alpha (false … false true … true in u). */
function aboveUpper(u: number): boolean {
  // written so that a NaN tail (degenerate input) ends the search instead of galloping forever
  return !(logSfOf(u + 1, qMean, qDisp) > qLogAlpha);
}

/** Lower-bound predicate, negated: NOT P(X < l) <= alpha (false … false true … true in l); l >= qCap counts as true. */
function pastLower(l: number): boolean {
  return l >= qCap || !(logCdfOf(l - 1, qMean, qDisp) <= qLogAlpha);
}

/** Smallest t >= lo with pred(t), for a predicate monotone false → true that holds somewhere; searched from `guess`. */
function firstTrueFrom(pred: (t: number) => boolean, lo: number, guess: number): number {
  let hiT: number;
  let loF: number;
  const g = Math.max(lo, Math.floor(guess));
  if (pred(g)) {
    hiT = g;
    let step = 1;
    for (;;) {
      if (hiT === lo) return lo;
      const probe = Math.max(lo, hiT - step);
      if (pred(probe)) {
        hiT = probe;
        step *= 2;
        continue;
      }
      loF = probe;
      break;
    }
  } else {
    loF = g;
    let step = 1;
    for (;;) {
      const probe = loF + step;
      if (pred(probe)) {
        hiT = probe;
        break;
      }
      loF = probe;
      step *= 2;
    }
  }
  while (hiT - loF > 1) {
    const mid = Math.floor((loF + hiT) / 2);
    if (pred(mid)) hiT = mid;
    else loF = mid;
  }
  return hiT;
}

/** Smallest integer u with P(X > u) <= e^logAlpha: counts above u are anomalous at that level. */
export function countUpperBound(d: CountDistribution, logAlpha: number): number {
  return upperBoundOf(d.mean, d.dispersion, logAlpha);
}

/**
 * countUpperBound for (mean, dispersion) given as numbers. Never below floor(mean) − 1 (so a count at most that is
 * never above the bound, whatever the tail says).
 */
export function upperBoundOf(mean: number, dispersion: number, logAlpha: number): number {
  if (mean === 0) return 0;
  if (!Number.isFinite(mean)) return mean;
  qMean = mean;
  qDisp = dispersion;
  qLogAlpha = logAlpha;
  const lo = Math.max(0, Math.floor(mean) - 1);
  return firstTrueFrom(aboveUpper, lo, quantileGuess(mean, dispersion, zFor(logAlpha)));
}

/** Largest integer l with P(X < l) <= e^logAlpha: counts below l are anomalously low. */
export function countLowerBound(d: CountDistribution, logAlpha: number): number {
  return lowerBoundOf(d.mean, d.dispersion, logAlpha);
}

/** countLowerBound for (mean, dispersion) given as numbers (at most ceil(mean)). */
export function lowerBoundOf(mean: number, dispersion: number, logAlpha: number): number {
  if (mean === 0 || !Number.isFinite(mean) || logCdfOf(0, mean, dispersion) > logAlpha) return 0;
  qMean = mean;
  qDisp = dispersion;
  qLogAlpha = logAlpha;
  qCap = Math.ceil(mean) + 1;
  // P(X < 1) <= alpha was just checked: the first l past the bound is at least 2
  return firstTrueFrom(pastLower, 2, quantileGuess(mean, dispersion, -zFor(logAlpha)) + 1) - 1;
}
