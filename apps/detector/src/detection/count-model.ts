import { negBinomialLogCdf, negBinomialLogSf, poissonLogCdf, poissonLogSf } from './special-functions.js';

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
  if (!(variance > m * OVERDISPERSION) || m === 0) return { mean: m, dispersion: Infinity };
  return { mean: m, dispersion: (m * m) / (variance - m) };
}

export function countVariance(d: CountDistribution): number {
  return d.dispersion === Infinity ? d.mean : d.mean + (d.mean * d.mean) / d.dispersion;
}

/** ln P(X >= k). */
export function countLogSf(k: number, d: CountDistribution): number {
  if (d.mean === 0) return k <= 0 ? 0 : -Infinity;
  return d.dispersion === Infinity ? poissonLogSf(k, d.mean) : negBinomialLogSf(k, d.mean, d.dispersion);
}

/** ln P(X <= k). */
export function countLogCdf(k: number, d: CountDistribution): number {
  if (d.mean === 0) return k >= 0 ? 0 : -Infinity;
  return d.dispersion === Infinity ? poissonLogCdf(k, d.mean) : negBinomialLogCdf(k, d.mean, d.dispersion);
}

/** Smallest integer u with P(X > u) <= e^logAlpha: counts above u are anomalous at that level. */
export function countUpperBound(d: CountDistribution, logAlpha: number): number {
  if (d.mean === 0) return 0;
  const sd = Math.sqrt(countVariance(d));
  let lo = Math.max(0, Math.floor(d.mean) - 1);
  let hi = Math.ceil(d.mean + 10 * sd + 10);
  while (countLogSf(hi + 1, d) > logAlpha) hi *= 2;
  // invariant: P(X > lo) > alpha, P(X > hi) <= alpha
  if (countLogSf(lo + 1, d) <= logAlpha) return lo;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (countLogSf(mid + 1, d) <= logAlpha) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Largest integer l with P(X < l) <= e^logAlpha: counts below l are anomalously low. */
export function countLowerBound(d: CountDistribution, logAlpha: number): number {
  if (d.mean === 0 || countLogCdf(0, d) > logAlpha) return 0;
  let lo = 0; // P(X < lo) = 0 <= alpha
  let hi = Math.ceil(d.mean) + 1; // P(X < hi) > alpha
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (countLogCdf(mid - 1, d) <= logAlpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

