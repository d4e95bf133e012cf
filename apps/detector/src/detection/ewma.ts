/**
 * Exponentially weighted mean and variance (West 1979 / Finch 2009 incremental form).
 * Stateless helpers over a tiny record so callers can keep the numbers in a typed array.
 */
export interface EwmaMoments {
  mean: number;
  variance: number;
}

/** Smoothing factor for a half-life expressed in observations. */
export function alphaForHalfLife(halfLife: number): number {
  if (!(halfLife > 0)) throw new RangeError(`halfLife must be > 0, got ${halfLife}`);
  return 1 - Math.pow(0.5, 1 / halfLife);
}

/**
 * One EWMA step. `n` is the number of observations already folded in; while n is small the factor is
 * raised to 1/(n+1) so the first values are averaged evenly instead of being dominated by the prior.
 */
export function ewmaStep(prev: EwmaMoments, x: number, alpha: number, n: number): EwmaMoments {
  if (n === 0) return { mean: x, variance: 0 };
  const a = Math.max(alpha, 1 / (n + 1));
  const diff = x - prev.mean;
  const incr = a * diff;
  return { mean: prev.mean + incr, variance: (1 - a) * (prev.variance + diff * incr) };
}
