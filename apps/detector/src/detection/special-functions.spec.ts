import { cumulativeStdNormalProbability, poissonDistribution } from 'simple-statistics';
import {
  logBetaI,
  logGamma,
  logGammaP,
  logGammaQ,
  negBinomialLogCdf,
  negBinomialLogSf,
  normalLogSf,
  normalQuantile,
  poissonLogCdf,
  poissonLogSf,
} from './special-functions.js';

/** ln P(X >= k) by summing the Poisson pmf in log space (reference for large counts). */
function poissonLogSfBySum(k: number, lambda: number): number {
  const terms: number[] = [];
  for (let j = k; j < k + 5000; j++) terms.push(-lambda + j * Math.log(lambda) - logGamma(j + 1));
  const max = Math.max(...terms);
  return max + Math.log(terms.reduce((a, t) => a + Math.exp(t - max), 0));
}

describe('special functions', () => {
  describe(logGamma.name, () => {
    it.each([
      [1, 0],
      [2, 0],
      [0.5, Math.log(Math.sqrt(Math.PI))],
      [10, Math.log(362880)],
      [101, 363.73937555556347], // ln(100!)
    ])('lnΓ(%p) = %p', (x, expected) => {
      expect(logGamma(x)).toBeCloseTo(expected, 10);
    });
  });

  describe('incomplete gamma', () => {
    it.each([
      [1, 0.5],
      [1, 3],
      [4.5, 2],
      [4.5, 9],
    ])('P(%p,%p) + Q = 1 and P(1,x) = 1 − e^−x', (a, x) => {
      expect(Math.exp(logGammaP(a, x)) + Math.exp(logGammaQ(a, x))).toBeCloseTo(1, 12);
      if (a === 1) expect(Math.exp(logGammaP(1, x))).toBeCloseTo(1 - Math.exp(-x), 12);
    });
  });

  describe(poissonLogSf.name, () => {
    it.each([
      [0.5, 1],
      [3, 2],
      [3, 7],
      [10, 10],
      [10, 20],
      [25, 40],
    ])('λ=%p: P(X ≥ %p) matches the simple-statistics pmf table', (lambda, k) => {
      const pmf = poissonDistribution(lambda) as number[];
      const below = pmf.slice(0, k).reduce((a, p) => a + p, 0);
      expect(Math.exp(poissonLogSf(k, lambda))).toBeCloseTo(1 - below, 4);
      expect(Math.exp(poissonLogCdf(k - 1, lambda))).toBeCloseTo(below, 4);
    });

    it.each([
      [2, 500],
      [100, 1000],
      [1000, 1300],
      [5, 10_000],
    ])('stays finite and exact far in the tail: λ=%p, k=%p', (lambda, k) => {
      const reference = poissonLogSfBySum(k, lambda);
      const got = poissonLogSf(k, lambda);
      expect(Number.isFinite(got)).toBe(true);
      expect(got).toBeLessThan(-20);
      expect(Math.abs(got - reference) / Math.abs(reference)).toBeLessThan(1e-9);
    });

    it('is 1 at k = 0 and decreasing in k', () => {
      expect(poissonLogSf(0, 7)).toBe(0);
      let prev = 0;
      for (let k = 1; k < 60; k++) {
        const v = poissonLogSf(k, 7);
        expect(v).toBeLessThan(prev);
        prev = v;
      }
    });
  });

  describe(negBinomialLogSf.name, () => {
    // r = 1 is the geometric distribution: P(X >= k) = q^k with q = mean / (1 + mean)
    it.each([
      [1, 0],
      [1, 3],
      [4, 10],
      [50, 400],
      [0.5, 200],
    ])('mean=%p, r=1: P(X ≥ %p) = q^k', (mean, k) => {
      const q = mean / (1 + mean);
      expect(negBinomialLogSf(k, mean, 1)).toBeCloseTo(k * Math.log(q), 8);
      if (k > 0) expect(Math.exp(negBinomialLogCdf(k - 1, mean, 1))).toBeCloseTo(1 - Math.pow(q, k), 8);
    });

    it('approaches the Poisson tail as the dispersion grows', () => {
      expect(negBinomialLogSf(30, 20, 1e7)).toBeCloseTo(poissonLogSf(30, 20), 4);
    });

    it('gives overdispersed counts a heavier tail than the Poisson', () => {
      expect(negBinomialLogSf(60, 20, 5)).toBeGreaterThan(poissonLogSf(60, 20));
    });

    it('I_x(a,b) is symmetric: I_x(a,b) = 1 − I_{1−x}(b,a)', () => {
      expect(Math.exp(logBetaI(2.5, 4, 0.3)) + Math.exp(logBetaI(4, 2.5, 0.7))).toBeCloseTo(1, 12);
    });
  });

  describe(normalLogSf.name, () => {
    it.each([0, 0.5, 1, 1.96, 2.5, 3])('P(Z ≥ %p) matches simple-statistics', (z) => {
      expect(Math.exp(normalLogSf(z))).toBeCloseTo(1 - cumulativeStdNormalProbability(z), 3);
    });

    it.each([
      [5, 2.866515718791939e-7],
      [10, 7.619853024160527e-24],
      [30, 4.906713927148187e-198],
    ])('is accurate in the far tail: P(Z ≥ %p) = %p', (z, p) => {
      expect(Math.abs(normalLogSf(z) - Math.log(p))).toBeLessThan(1e-6 * Math.abs(Math.log(p)));
    });

    it.each([0.001, 0.025, 0.5, 0.9, 0.999999])('normalQuantile inverts the tail at p=%p', (p) => {
      expect(Math.exp(normalLogSf(-normalQuantile(p)))).toBeCloseTo(p, 6);
    });
  });
});
