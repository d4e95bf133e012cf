import type { Severity } from '@vigil/contracts';

/**
 * Calibration: every detector reduces its evidence to a tail probability p (one-sided, in log space),
 * and the score is −log10(p) divided by SCORE_FULL_DECADES, capped at 1. The same score therefore means the same
 * surprise for every entity and metric: 0.5 ⇔ p = 1e-6, 0.25 ⇔ p = 1e-3, 1 ⇔ p ≤ 1e-12.
 */
export const SCORE_FULL_DECADES = 12;

/** Severity cut points on the calibrated score (lower bound inclusive). */
export const SEVERITY_CUTS: ReadonlyArray<readonly [Severity, number]> = [
  ['critical', 0.8], // p ≤ 1e-9.6
  ['high', 0.6], // p ≤ 1e-7.2
  ['medium', 0.4], // p ≤ 1e-4.8
  ['low', 0],
];

export function scoreFromLogP(logP: number): number {
  if (!(logP < 0)) return 0;
  const decades = -logP / Math.LN10;
  return Math.min(1, decades / SCORE_FULL_DECADES);
}

/** Inverse of scoreFromLogP on (0,1): the natural-log p-value a score stands for. */
export function logPFromScore(score: number): number {
  return -Math.max(0, Math.min(1, score)) * SCORE_FULL_DECADES * Math.LN10;
}

export function severityFromScore(score: number): Severity {
  for (const [severity, cut] of SEVERITY_CUTS) if (score >= cut) return severity;
  return 'low';
}
