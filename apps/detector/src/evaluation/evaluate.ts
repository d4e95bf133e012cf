import type { AccessEvent, Anomaly, EntityType } from '@vigil/contracts';
import { endpointOf } from '../detection/window.js';
import { DetectorsConfig } from '../detectors/detector-config.js';
import { DetectionEngine, type OffsetEvent } from '../engine/detection-engine.js';
import type { PartitionState } from '../engine/partition-state.js';

/**
 * Offline evaluation of the detector on labelled traffic: the records go through the same DetectionEngine the
 * service runs (stage 1 on the access events, stage 2 on the re-keyed partials it produces), in event time, without
 * Kafka. Each anomaly is then matched to the attack labels:
 *
 * - a label is DETECTED when an anomaly of its expected detector names its entity (for a token label, also a
 *   `token|ip` entity of that token) in a window that overlaps the attack; IN TIME when that window starts no later
 *   than one window after the attack's start. Latency runs from the attack's first event to the anomaly's `detectedAt`
 *   (event time);
 * - an anomaly is EXPLAINED when its window overlaps an attack and its entity is one the attack's own requests
 *   touched (their IP, token, token×IP, endpoint or tenant); explained anomalies of another detector are reported as
 *   collateral (a brute force is also a rate spike of its IP);
 * - every other anomaly is FALSE, counted per 100 000 normal (unlabelled) events.
 *
 * Pure apart from CPU: the caller supplies the records (e.g. the traffic generator of @vigil/testing) and the
 * labels; the detector does not depend on the generator.
 */

/** What the evaluation needs of an attack label (a subset of the generator's AttackLabel). */
export interface EvalLabel {
  id: string;
  class: string;
  entityType: EntityType;
  entity: string;
  /** Event time, epoch ms: the attack's requests have start <= ts < end. */
  start: number;
  end: number;
  expectedDetector: string;
}

export interface EvalRecord {
  event: AccessEvent;
  /** Set when the request is attack traffic. */
  label?: { id: string };
}

export interface EvaluationOptions {
  detectors: DetectorsConfig;
  /** Event-time window (the service default: 60 s). */
  windowMs?: number;
  latenessMs?: number;
  maxEntities?: number;
  idleTtlMs?: number;
  /** Events per engine step (a consumer batch). */
  batchSize?: number;
  /**
   * End of the learning period (event time): anomalies in windows that start before it, and the normal events
   * before it, are reported apart (`warmup`) and left out of the false-anomaly rate.
   */
  warmupEnd?: number;
}

export interface AttackResult {
  label: EvalLabel;
  /** Attack requests in the stream. */
  events: number;
  firstEventTs: number | null;
  detected: boolean;
  inTime: boolean;
  /** First matching anomaly's detectedAt minus the attack's first event; null when not detected. */
  latencyMs: number | null;
  /** The earliest matching anomaly. */
  match: Anomaly | null;
  /** Explained anomalies of other detectors (or other entities) this attack caused. */
  collateral: number;
}

export interface ClassResult {
  attacks: number;
  detected: number;
  inTime: number;
  /** inTime / attacks. */
  recall: number;
  latencyMs: { min: number; median: number; max: number } | null;
}

export interface EvaluationReport {
  windowMs: number;
  events: { total: number; normal: number; attack: number; warmupNormal: number; evaluatedNormal: number };
  anomalies: { total: number; matched: number; collateral: number; warmup: number; false: number };
  attacks: AttackResult[];
  classes: Record<string, ClassResult>;
  /** Every anomaly, by detectedAt. */
  all: Anomaly[];
  /** Unexplained anomalies after the warm-up. */
  falseAnomalies: Anomaly[];
  /** Unexplained anomalies during the warm-up (cold start), not in the rate. */
  warmupAnomalies: Anomaly[];
  /** False anomalies per 100 000 normal events after the warm-up. */
  falsePer100k: number;
}

/** The detector config the evaluation runs with: the file's settings plus the traffic's allowlists and deprecated versions. */
export function detectorsForTraffic(base: DetectorsConfig, traffic: { allowlists?: Record<string, string[]>; deprecatedVersions?: readonly string[] }): DetectorsConfig {
  return DetectorsConfig.parse({
    ...base,
    tokenAllowlist: { ...base.tokenAllowlist, allowlists: { ...base.tokenAllowlist.allowlists, ...(traffic.allowlists ?? {}) } },
    deprecatedApi: { ...base.deprecatedApi, versions: [...new Set([...base.deprecatedApi.versions, ...(traffic.deprecatedVersions ?? [])])] },
  });
}

const key = (type: EntityType, entity: string): string => `${type}\u0000${entity}`;

/** Token of a `token|ip` entity (split at the last `|`). */
function tokenOf(tokenIp: string): string {
  const i = tokenIp.lastIndexOf('|');
  return i > 0 ? tokenIp.slice(0, i) : tokenIp;
}

interface LabelTrack {
  label: EvalLabel;
  events: number;
  firstTs: number | null;
  /** Entities the attack's requests touched. */
  touched: Set<string>;
}

/** Run the records through the engine and score the anomalies against the labels. */
export function evaluateDetector(records: Iterable<EvalRecord>, labels: readonly EvalLabel[], options: EvaluationOptions): EvaluationReport {
  const windowMs = options.windowMs ?? 60_000;
  const engine = new DetectionEngine({
    windowMs,
    latenessMs: options.latenessMs ?? 10_000,
    maxEntities: options.maxEntities ?? 1_000_000,
    idleTtlMs: options.idleTtlMs ?? 7 * 86_400_000,
    detectors: options.detectors,
  });
  const runner = new EngineRunner(engine);
  const batchSize = options.batchSize ?? 2_000;
  const warmupEnd = options.warmupEnd ?? -Infinity;
  const tracks = new Map<string, LabelTrack>(labels.map((l) => [l.id, { label: l, events: 0, firstTs: null, touched: new Set() }]));
  const events = { total: 0, normal: 0, attack: 0, warmupNormal: 0, evaluatedNormal: 0 };

  let batch: AccessEvent[] = [];
  let lastTs = -Infinity;
  for (const r of records) {
    const e = r.event;
    events.total += 1;
    lastTs = Math.max(lastTs, e.ts);
    const t = r.label ? tracks.get(r.label.id) : undefined;
    if (t) {
      events.attack += 1;
      t.events += 1;
      if (t.firstTs === null || e.ts < t.firstTs) t.firstTs = e.ts;
      t.touched.add(key('ip', e.clientIp));
      t.touched.add(key('endpoint', endpointOf(e)));
      t.touched.add(key('tenant', e.tenant));
      if (e.tokenId) {
        t.touched.add(key('token', e.tokenId));
        t.touched.add(key('token_ip', `${e.tokenId}|${e.clientIp}`));
      }
    } else {
      events.normal += 1;
      if (e.ts < warmupEnd) events.warmupNormal += 1;
      else events.evaluatedNormal += 1;
    }
    batch.push(e);
    if (batch.length >= batchSize) {
      runner.step(batch);
      batch = [];
    }
  }
  if (batch.length) runner.step(batch);
  // Close every window still open: an event-time tick past the last window plus the lateness.
  runner.flush(lastTs + 2 * windowMs + (options.latenessMs ?? 10_000));
  return score(runner.anomalies, [...tracks.values()], events, windowMs, warmupEnd);
}

/** Stage 1 and stage 2 wired together on one partition each, as the two consumers do. */
class EngineRunner {
  readonly anomalies: Anomaly[] = [];
  private readonly access: PartitionState;
  private readonly rekeyed: PartitionState;
  private accessOffset = 0;
  private rekeyedOffset = 0;

  constructor(private readonly engine: DetectionEngine) {
    this.access = engine.newPartition('access', 0);
    this.rekeyed = engine.newPartition('rekeyed', 0);
  }

  step(events: readonly AccessEvent[]): void {
    const inputs: OffsetEvent[] = events.map((event) => ({ offset: String(this.accessOffset++), event }));
    const r = this.engine.processAccessEvents(this.access, inputs);
    this.anomalies.push(...r.anomalies);
    const partials = r.partials.map((partial) => ({ offset: String(this.rekeyedOffset++), partial }));
    this.anomalies.push(...this.engine.processPartials(this.rekeyed, partials));
  }

  /** Advance both watermarks to `ts` so every window closes (the partitions' clocks move only with input). */
  flush(ts: number): void {
    this.access.watermark.observe(ts);
    this.rekeyed.watermark.observe(ts);
    this.anomalies.push(...this.engine.processAccessEvents(this.access, []).anomalies);
    this.anomalies.push(...this.engine.processPartials(this.rekeyed, []));
  }
}

function isMatch(a: Anomaly, l: EvalLabel): boolean {
  if (a.detector !== l.expectedDetector) return false;
  if (a.entityType === l.entityType && a.entity === l.entity) return true;
  return l.entityType === 'token' && a.entityType === 'token_ip' && tokenOf(a.entity) === l.entity;
}

const overlaps = (a: Anomaly, l: EvalLabel): boolean => a.windowStart < l.end && a.windowEnd > l.start;

function score(anomalies: readonly Anomaly[], tracks: readonly LabelTrack[], events: EvaluationReport['events'], windowMs: number, warmupEnd: number): EvaluationReport {
  const sorted = [...anomalies].sort((a, b) => a.detectedAt - b.detectedAt || (a.id < b.id ? -1 : 1));
  const results: AttackResult[] = [];
  const explained = new Set<string>();
  let matched = 0;
  for (const t of tracks) {
    const l = t.label;
    const hits = sorted.filter((a) => overlaps(a, l) && isMatch(a, l));
    const first = hits[0] ?? null;
    const inTimeHit = hits.find((a) => a.windowStart <= l.start + windowMs) ?? null;
    let collateral = 0;
    for (const a of sorted) {
      if (!overlaps(a, l)) continue;
      if (isMatch(a, l)) {
        if (!explained.has(a.id)) matched += 1;
        explained.add(a.id);
      } else if (t.touched.has(key(a.entityType, a.entity))) {
        collateral += 1;
        explained.add(a.id);
      }
    }
    const firstTs = t.firstTs;
    results.push({
      label: l,
      events: t.events,
      firstEventTs: firstTs,
      detected: first !== null,
      inTime: inTimeHit !== null,
      latencyMs: first && firstTs !== null ? first.detectedAt - firstTs : null,
      match: first,
      collateral,
    });
  }
  const unexplained = sorted.filter((a) => !explained.has(a.id));
  const falseAnomalies = unexplained.filter((a) => a.windowStart >= warmupEnd);
  const warmupAnomalies = unexplained.filter((a) => a.windowStart < warmupEnd);
  const classes: Record<string, ClassResult> = {};
  for (const r of results) {
    const c = (classes[r.label.class] ??= { attacks: 0, detected: 0, inTime: 0, recall: 0, latencyMs: null });
    c.attacks += 1;
    if (r.detected) c.detected += 1;
    if (r.inTime) c.inTime += 1;
  }
  for (const [cls, c] of Object.entries(classes)) {
    c.recall = c.attacks ? c.inTime / c.attacks : 0;
    const lat = results.filter((r) => r.label.class === cls && r.latencyMs !== null).map((r) => r.latencyMs as number).sort((a, b) => a - b);
    c.latencyMs = lat.length ? { min: lat[0] as number, median: lat[Math.floor((lat.length - 1) / 2)] as number, max: lat[lat.length - 1] as number } : null;
  }
  const explainedCount = explained.size;
  return {
    windowMs,
    events,
    anomalies: { total: sorted.length, matched, collateral: explainedCount - matched, warmup: warmupAnomalies.length, false: falseAnomalies.length },
    attacks: results,
    classes,
    all: sorted,
    falseAnomalies,
    warmupAnomalies,
    falsePer100k: events.evaluatedNormal > 0 ? (falseAnomalies.length * 100_000) / events.evaluatedNormal : 0,
  };
}
