import type { DetectorFeedback, EntityType } from '@vigil/contracts';
import { BASELINE_DETECTORS } from '../detectors/detectors.js';
import type { MetricName } from '../engine/metrics-catalog.js';

/**
 * False-positive feedback the detector acts on ("marking an incident a false positive tells the detector to leave
 * that window out of its baseline"), per engine (every detector instance receives all feedback):
 *
 * - flagged windows: entity + window start → detectors judged wrong there. When such a window closes, or when its
 *   deferred baseline update comes due (see PendingUpdate in partition-state.ts), the metric each of those
 *   detectors judges is not folded into the entity's baseline (nor into the population);
 * - suppressions: entity + detector → event time until which that detector does not fire for that entity
 *   (`max(at, window end) + suppressionMs`).
 *
 * Bounded: entries leave once event time has passed them (`prune`), and at most `maxEntries` of each are kept.
 * Part of every checkpoint, so a restart (even on the in-process bus, which forgets its topics) keeps them.
 */
export interface FeedbackOptions {
  /** How long a false positive silences its detector for its entity (event time). */
  suppressionMs: number;
  /** How long a closed window's update of a metric that fired is held back, waiting for a verdict (event time). */
  holdMs: number;
  maxEntries: number;
}

/** Matches the alert service's suppression (one day) and gives a person an hour to mark a false positive. */
export const DEFAULT_FEEDBACK_OPTIONS: Readonly<FeedbackOptions> = { suppressionMs: 86_400_000, holdMs: 3_600_000, maxEntries: 100_000 };

const METRIC_OF: ReadonlyMap<string, MetricName> = new Map(BASELINE_DETECTORS.map((d) => [d.name, d.metric]));

/** The baseline metric a detector judges (rule detectors and multi-signal ones have none). */
export function metricOfDetector(detector: string): MetricName | undefined {
  return METRIC_OF.get(detector);
}

export interface FeedbackJson {
  s: [string, number][];
  f: [string, string[]][];
}

function entityPart(tenant: string, type: EntityType, entity: string): string {
  return `${tenant}|${type}|${entity}`;
}

export class FeedbackRegistry {
  /** `tenant|type|entity|detector` → suppressed until (event time, exclusive). */
  private readonly suppress = new Map<string, number>();
  /** `tenant|type|entity|windowStart` → detectors judged wrong on that window. */
  private readonly flagged = new Map<string, Set<string>>();
  accepted = 0;

  constructor(
    readonly windowMs: number,
    readonly options: FeedbackOptions = DEFAULT_FEEDBACK_OPTIONS,
  ) {}

  get size(): number {
    return this.suppress.size + this.flagged.size;
  }

  record(f: DetectorFeedback): void {
    const entity = entityPart(f.tenant, f.entityType, f.entity);
    const sk = `${entity}|${f.detector}`;
    const until = Math.max(f.at, f.windowStart + this.windowMs) + this.options.suppressionMs;
    this.suppress.set(sk, Math.max(until, this.suppress.get(sk) ?? -Infinity));
    const fk = `${entity}|${f.windowStart}`;
    let ds = this.flagged.get(fk);
    if (!ds) this.flagged.set(fk, (ds = new Set()));
    ds.add(f.detector);
    this.accepted += 1;
    trim(this.suppress, this.options.maxEntries);
    trim(this.flagged, this.options.maxEntries);
  }

  /** Whether `detector` must stay quiet for this entity in the window starting at `windowStart`. */
  suppressed(entityKey: string, detector: string, windowStart: number): boolean {
    if (this.suppress.size === 0) return false;
    const until = this.suppress.get(`${entityKey}|${detector}`);
    return until !== undefined && windowStart < until;
  }

  /** Whether the window's value of `metric` must stay out of the entity's baseline. `entityKey` = tenant|type|entity. */
  excludes(entityKey: string, windowStart: number, metric: MetricName): boolean {
    if (this.flagged.size === 0) return false;
    const ds = this.flagged.get(`${entityKey}|${windowStart}`);
    if (!ds) return false;
    for (const d of ds) if (metricOfDetector(d) === metric) return true;
    return false;
  }

  /** Forget what event time `watermark` has left behind (a flagged window stays while its update may be held). */
  prune(watermark: number): void {
    for (const [k, until] of this.suppress) if (until <= watermark) this.suppress.delete(k);
    const horizon = watermark - this.windowMs - 2 * this.options.holdMs;
    if (this.flagged.size === 0) return;
    for (const k of this.flagged.keys()) {
      const ws = Number(k.slice(k.lastIndexOf('|') + 1));
      if (ws < horizon) this.flagged.delete(k);
    }
  }

  toJSON(): FeedbackJson {
    return { s: [...this.suppress], f: [...this.flagged].map(([k, ds]) => [k, [...ds]]) };
  }

  /** Merge a checkpoint's copy (union; the later suppression end wins). */
  merge(j: FeedbackJson): void {
    for (const [k, until] of j.s) this.suppress.set(k, Math.max(until, this.suppress.get(k) ?? -Infinity));
    for (const [k, ds] of j.f) {
      let cur = this.flagged.get(k);
      if (!cur) this.flagged.set(k, (cur = new Set()));
      for (const d of ds) cur.add(d);
    }
    trim(this.suppress, this.options.maxEntries);
    trim(this.flagged, this.options.maxEntries);
  }
}

function trim<V>(m: Map<string, V>, max: number): void {
  if (m.size <= max) return;
  for (const k of m.keys()) {
    m.delete(k);
    if (m.size <= max) return;
  }
}
