import { describe, expect, it } from '@jest/globals';
import { countLogCdf, countLogSf, countLowerBound, countUpperBound, type CountDistribution } from './count-model.js';

/** The bounds by plain bisection from the mean (the previous implementation): the reference the fast search must equal. */
function bisectedUpper(d: CountDistribution, logAlpha: number): number {
  if (d.mean === 0) return 0;
  const sd = Math.sqrt(d.dispersion === Infinity ? d.mean : d.mean + (d.mean * d.mean) / d.dispersion);
  let lo = Math.max(0, Math.floor(d.mean) - 1);
  let hi = Math.ceil(d.mean + 10 * sd + 10);
  while (countLogSf(hi + 1, d) > logAlpha) hi *= 2;
  if (countLogSf(lo + 1, d) <= logAlpha) return lo;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (countLogSf(mid + 1, d) <= logAlpha) hi = mid;
    else lo = mid;
  }
  return hi;
}

function bisectedLower(d: CountDistribution, logAlpha: number): number {
  if (d.mean === 0 || countLogCdf(0, d) > logAlpha) return 0;
  let lo = 0;
  let hi = Math.ceil(d.mean) + 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (countLogCdf(mid - 1, d) <= logAlpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

const MEANS = [0, 1e-4, 0.01, 0.3, 0.999, 1, 1.5, 2.2, 7, 19.5, 50, 123.4, 999, 4321.9, 60_000];
const DISPERSIONS = [Infinity, 1e-3, 0.05, 0.5, 1, 3.3, 20, 400, 1e5];
const LOG_ALPHAS = [Math.log(0.05), Math.log(1e-3), Math.log(1e-6), Math.log(1e-12)];

describe('count bounds (Cornish–Fisher guess, then gallop and bisection)', () => {
  // beyond a standard deviation of ~1e6 (mean 60,000 with dispersion 0.001) the incomplete beta's own rounding noise
  // (~1e-5 relative) exceeds the step between adjacent counts, so no search can be exact there: left out
  const cases = MEANS.flatMap((mean) => DISPERSIONS.map((dispersion) => ({ mean, dispersion: mean === 0 ? Infinity : dispersion }))).filter(
    (d) => d.mean + (d.dispersion === Infinity ? 0 : (d.mean * d.mean) / d.dispersion) < 1e12,
  );

  it.each(LOG_ALPHAS)('upper bound equals the bisection from the mean for every distribution (ln alpha %p)', (logAlpha) => {
    for (const d of cases) expect([d, countUpperBound(d, logAlpha)]).toEqual([d, bisectedUpper(d, logAlpha)]);
  });

  it.each(LOG_ALPHAS)('lower bound equals the bisection for every distribution (ln alpha %p)', (logAlpha) => {
    for (const d of cases) expect([d, countLowerBound(d, logAlpha)]).toEqual([d, bisectedLower(d, logAlpha)]);
  });

  it('upper bound of Poisson(10) at alpha 1e-3 is 21: P(X > 21) <= 1e-3 < P(X > 20)', () => {
    const d = { mean: 10, dispersion: Infinity };
    expect(countUpperBound(d, Math.log(1e-3))).toBe(21);
    expect(countLogSf(22, d)).toBeLessThanOrEqual(Math.log(1e-3));
    expect(countLogSf(21, d)).toBeGreaterThan(Math.log(1e-3));
  });

  it('degenerate means give a bound without searching forever', () => {
    expect(countUpperBound({ mean: NaN, dispersion: Infinity }, Math.log(1e-3))).toBeNaN();
    expect(countUpperBound({ mean: Infinity, dispersion: Infinity }, Math.log(1e-3))).toBe(Infinity);
    expect(countLowerBound({ mean: Infinity, dispersion: Infinity }, Math.log(1e-3))).toBe(0);
  });
});
