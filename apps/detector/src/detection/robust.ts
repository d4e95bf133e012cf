/** Median and MAD over a bounded ring of recent values (NaN marks an empty slot). */
export const MAD_TO_SIGMA = 1.4826;

function sortedFinite(values: ArrayLike<number>, scratch: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v === v) scratch[n++] = v;
  }
  return scratch.subarray(0, n).sort();
}

function medianOfSorted(s: Float64Array): number {
  const n = s.length;
  if (n === 0) return NaN;
  const h = n >> 1;
  return n % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

export interface RobustStats {
  count: number;
  median: number;
  /** Median absolute deviation (raw, not scaled to sigma). */
  mad: number;
}

/** Median and MAD of the finite values of `values`. `scratch` must be at least as long as `values`. */
export function robustStats(values: ArrayLike<number>, scratch: Float64Array = new Float64Array(values.length)): RobustStats {
  const s = sortedFinite(values, scratch);
  const median = medianOfSorted(s);
  for (let i = 0; i < s.length; i++) s[i] = Math.abs((s[i] as number) - median);
  s.sort();
  return { count: s.length, median, mad: medianOfSorted(s) };
}
