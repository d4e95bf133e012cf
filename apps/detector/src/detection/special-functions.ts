/**
 * Special functions for tail probabilities, all in log space so that counts far above
 * their expectation (p-values of 1e-300 and below) stay finite and ordered.
 * References: Numerical Recipes 3rd ed. §6.1 (gammln), §6.2 (gammp/gammq), §6.4 (betai), §6.2.2 (erfc).
 */

/** Lanczos coefficients (g = 607/128, 15 terms; Numerical Recipes 3rd ed. §6.1). */
const LANCZOS = new Float64Array([
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4,
  0.465236289270485756e-4, -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3,
  0.217439618115212643e-3, -0.164318106536763890e-3, 0.844182239838527433e-4, -0.261908384015814087e-4,
  0.368991826595316234e-5,
]);

/** ln Γ(x) for x > 0 (Lanczos, ~1e-15 relative). */
function lanczosLogGamma(x: number): number {
  const tmp0 = x + 5.24218750000000000;
  const tmp = (x + 0.5) * Math.log(tmp0) - tmp0;
  let ser = 0.999999999999997092;
  let y = x;
  for (let i = 0; i < LANCZOS.length; i++) ser += (LANCZOS[i] as number) / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}

/** ln Γ(k) for integers k below this, kept once computed (tail searches evaluate the same small k again and again). */
const INT_TABLE = 4096;
const intLogGamma = new Float64Array(INT_TABLE).fill(NaN);
/**
 * The two most recent non-integer arguments and their values (a negative binomial's dispersion r recurs in every
 * tail evaluation): [x0, y0, x1, y1], in a Float64Array because a double written to a module-level `let` is a new
 * heap number each time (four per call).
 */
const MEMO = new Float64Array([NaN, NaN, NaN, NaN]);
const MX0 = 0;
const MY0 = 1;
const MX1 = 2;
const MY1 = 3;

/** ln Γ(x) for x > 0 (Lanczos, ~1e-15 relative). Memoized values are the computed ones, so results never change. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < INT_TABLE && Number.isInteger(x)) {
    let v = intLogGamma[x] as number;
    if (v !== v) intLogGamma[x] = v = lanczosLogGamma(x);
    return v;
  }
  const m = MEMO;
  if (x === m[MX0]) return m[MY0] as number;
  if (x === m[MX1]) {
    const y = m[MY1] as number;
    m[MX1] = m[MX0] as number;
    m[MY1] = m[MY0] as number;
    m[MX0] = x;
    m[MY0] = y;
    return y;
  }
  const y = lanczosLogGamma(x);
  m[MX1] = m[MX0] as number;
  m[MY1] = m[MY0] as number;
  m[MX0] = x;
  m[MY0] = y;
  return y;
}

/** ln(1 - e^v) for v <= 0, accurate near both ends. */
export function log1mExp(v: number): number {
  if (v > -Math.LN2) return Math.log(-Math.expm1(v));
  return Math.log1p(-Math.exp(v));
}

const EPS = 1e-15;
const FPMIN = 1e-300;
const MAX_ITER = 10_000;

/** ln of the series part of P(a,x) (valid and fast for x < a+1). */
function logGammaPSeries(a: number, x: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let i = 0; i < MAX_ITER; i++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return Math.log(sum) - x + a * Math.log(x) - logGamma(a);
}

/** ln Q(a,x) by Lentz's continued fraction (valid for x >= a+1). */
function logGammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.log(h) - x + a * Math.log(x) - logGamma(a);
}

/** ln P(a,x): regularized lower incomplete gamma. */
export function logGammaP(a: number, x: number): number {
  if (x <= 0) return -Infinity;
  if (x < a + 1) return logGammaPSeries(a, x);
  return log1mExp(logGammaQContinuedFraction(a, x));
}

/** ln Q(a,x) = ln(1 - P(a,x)): regularized upper incomplete gamma. */
export function logGammaQ(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x < a + 1) return log1mExp(logGammaPSeries(a, x));
  return logGammaQContinuedFraction(a, x);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** ln I_x(a,b): regularized incomplete beta. */
export function logBetaI(a: number, b: number, x: number): number {
  if (x <= 0) return -Infinity;
  if (x >= 1) return 0;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return logFront + Math.log(betaContinuedFraction(a, b, x) / a);
  return log1mExp(logFront + Math.log(betaContinuedFraction(b, a, 1 - x) / b));
}

/** ln P(X >= k) for X ~ Poisson(lambda). Exact for any k via P(X >= k) = P(k, lambda). */
export function poissonLogSf(k: number, lambda: number): number {
  if (k <= 0) return 0;
  if (lambda <= 0) return -Infinity;
  return logGammaP(Math.ceil(k), lambda);
}

/** ln P(X <= k) for X ~ Poisson(lambda). */
export function poissonLogCdf(k: number, lambda: number): number {
  if (k < 0) return -Infinity;
  if (lambda <= 0) return 0;
  return logGammaQ(Math.floor(k) + 1, lambda);
}

/**
 * ln P(X >= k) for a negative binomial with the given mean and dispersion r (variance = mean + mean²/r).
 * P(X >= k) = I_{1-p}(k, r) with p = r / (r + mean).
 */
export function negBinomialLogSf(k: number, mean: number, r: number): number {
  if (k <= 0) return 0;
  if (mean <= 0) return -Infinity;
  const q = mean / (r + mean);
  return logBetaI(Math.ceil(k), r, q);
}

/** ln P(X <= k) for the negative binomial above: I_p(r, k+1). */
export function negBinomialLogCdf(k: number, mean: number, r: number): number {
  if (k < 0) return -Infinity;
  if (mean <= 0) return 0;
  const p = r / (r + mean);
  return logBetaI(r, Math.floor(k) + 1, p);
}

/** ln P(Z >= z) for a standard normal, accurate far into the tail (NR erfc, ~1.2e-7 relative). */
export function normalLogSf(z: number): number {
  const x = z / Math.SQRT2;
  if (x < 0) return Math.log1p(-Math.exp(normalLogSf(-z)));
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x - 1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) + poly - Math.LN2;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, ~1e-9 relative). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  return x;
}
