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

/** Ascending insertion sort of s[0..n) (rings are small: 16 by default). */
function insertionSort(s: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = s[i] as number;
    let j = i - 1;
    while (j >= 0 && (s[j] as number) > v) {
      s[j + 1] = s[j] as number;
      j--;
    }
    s[j + 1] = v;
  }
}

function medianOfFirst(s: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const h = n >> 1;
  return n % 2 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

/**
 * robustStats without allocation: median and MAD of the finite values of values[from, to), written into `out`.
 * `scratch` must hold at least to − from values. Same numbers as robustStats.
 */
export function robustStatsInto(values: ArrayLike<number>, from: number, to: number, scratch: Float64Array, out: RobustStats): RobustStats {
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    if (v === v) scratch[n++] = v;
  }
  insertionSort(scratch, n);
  const median = medianOfFirst(scratch, n);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs((scratch[i] as number) - median);
  insertionSort(scratch, n);
  out.count = n;
  out.median = median;
  out.mad = medianOfFirst(scratch, n);
  return out;
}
