import { createHash } from 'node:crypto';
import type { AccessEvent, Anomaly, DetectorFeedback, EntityType, RekeyedPartial } from '@vigil/contracts';
import type { Evaluation, PopulationBaseline } from '../detection/baseline.js';
import { severityFromScore } from '../detection/calibration.js';
import { endpointOf, EventHashes, TRACK_FAIL_IPS, TRACK_IPS, TRACK_LATENCY, TRACK_LOCATIONS, TRACK_NO_ROUTE_TOPS, TRACK_PATHS, TRACK_TOPS, WindowAggregate, windowStartOf, type WindowAggJson } from '../detection/window.js';
import type { DetectorsConfig } from '../detectors/detector-config.js';
import { compileEventRules, earlyDue, earlyPlanFor, evaluateClosedWindow, evaluatePartialWindow, type CompiledEventRules, type EarlyStep, type EventHit, type Finding, type WindowCtx } from '../detectors/detectors.js';
import { tokenIpEntity } from '../detectors/explain.js';
import { DEFAULT_FEEDBACK_OPTIONS, FeedbackRegistry, type FeedbackOptions } from '../feedback/feedback-registry.js';
import { metricOfDetector } from '../feedback/feedback-registry.js';
import { EntityState } from './entity-state.js';
import { ENTITY_METRICS, METRICS, type MetricName } from './metrics-catalog.js';
import { EntityBudget, entityKey, offsetNumber, PartitionState, TYPE_INDEX, typeOfKey, type HotEntity, type OpenWindow } from './partition-state.js';

export interface EngineOptions {
  windowMs: number;
  latenessMs: number;
  maxEntities: number;
  idleTtlMs: number;
  detectors: DetectorsConfig;
  /**
   * Re-keyed input: how far the slowest source partition may lag the newest before it stops holding windows open
   * (default 5 windows). See Watermark.
   */
  maxSourceSkewMs?: number;
  /** False-positive handling (suppression length, how long anomalous windows' updates are held back). */
  feedback?: Partial<FeedbackOptions>;
}

export interface OffsetEvent {
  offset: string;
  event: AccessEvent;
}

export interface OffsetPartial {
  offset: string;
  partial: RekeyedPartial;
}

export interface StepResult {
  anomalies: Anomaly[];
  /** Re-keyed partial windows to publish (access-event input only). */
  partials: RekeyedPartial[];
}

/**
 * What each entity type's windows keep beyond their counters: what its metrics and detectors read, plus the top
 * contributors every anomaly carries. (Distinct tokens and endpoints per IP are read by no detector; top routes only
 * by the IP detectors, brute force and scraping.)
 */
export const WINDOW_TRACKS: Readonly<Record<EntityType, number>> = {
  ip: TRACK_PATHS | TRACK_TOPS,
  token: TRACK_IPS | TRACK_LOCATIONS | TRACK_TOPS | TRACK_NO_ROUTE_TOPS,
  endpoint: TRACK_IPS | TRACK_FAIL_IPS | TRACK_LATENCY | TRACK_TOPS | TRACK_NO_ROUTE_TOPS,
  token_ip: TRACK_TOPS | TRACK_NO_ROUTE_TOPS,
  tenant: TRACK_TOPS | TRACK_NO_ROUTE_TOPS,
};

/** Entity types the access-event consumer forwards through the re-key topic (the IP stays where it is). */
export const REKEYED_TYPES: readonly EntityType[] = ['token', 'endpoint', 'token_ip', 'tenant'];

/** Deterministic anomaly id: detector + entity + window start, so a replay or a second instance never duplicates. */
export function anomalyId(detector: string, tenant: string, entityType: EntityType, entity: string, windowStart: number): string {
  const h = createHash('sha256').update(`${detector}\u0000${tenant}\u0000${entityType}\u0000${entity}\u0000${windowStart}`).digest('hex');
  return `anm_${h.slice(0, 40)}`;
}

/**
 * The detector's stream processor, without I/O: per-partition event-time windows per entity, early firing,
 * window close on the watermark, baseline updates, anomalies out, and what a checkpoint restores.
 * The use case feeds it batches and persists what it returns.
 */
export class DetectionEngine {
  readonly budget: EntityBudget;
  readonly feedback: FeedbackRegistry;
  /** Findings not emitted because a false positive suppresses their detector for the entity. */
  suppressedFindings = 0;
  /** Window metrics left out of baselines after false-positive feedback. */
  updatesDropped = 0;
  private readonly rules: CompiledEventRules;
  /**
   * Window aggregates and open-window records of closed windows, reused for new ones: a window lives for a minute of
   * event time, long enough for V8 to promote it, so allocating one per window fills the old generation with
   * garbage (the collector was 40–50 % of the time). Pooled, the steady state allocates no window objects at all.
   */
  private readonly aggPool: WindowAggregate[] = [];
  private readonly windowPool: OpenWindow[] = [];
  /** One evaluation context, refilled per call (detectors never keep it). */
  private readonly ctxBox = new EvalCtx();
  /** The current event's string hashes (one per event, shared by its windows). */
  private readonly hashes = new EventHashes();
  /** Early-firing plan per entity type (by TYPE_INDEX). */
  private readonly earlyPlans: readonly (readonly EarlyStep[])[];

  constructor(readonly options: EngineOptions) {
    this.budget = new EntityBudget(options.maxEntities);
    this.rules = compileEventRules(options.detectors);
    this.earlyPlans = (['ip', 'token', 'endpoint', 'token_ip', 'tenant'] as const).map((t) => earlyPlanFor(t, options.detectors));
    this.feedback = new FeedbackRegistry(options.windowMs, { ...DEFAULT_FEEDBACK_OPTIONS, ...options.feedback });
  }

  /**
   * A person judged an anomaly a false positive: its detector stays quiet for the entity until the suppression
   * expires, and the window's value of the metric that detector judges never reaches the entity's baseline — if
   * the window is still open, when it closes; if it closed within the hold period, its held update is dropped.
   * An update already applied (feedback later than the hold) is not undone: EWMA state cannot be rewound exactly,
   * but that update was clipped to expectation + clipSpreads × spread, and its weight decays with the half-life.
   */
  applyFeedback(f: DetectorFeedback): void {
    this.feedback.record(f);
  }

  newPartition(topic: string, partition: number): PartitionState {
    return new PartitionState(topic, partition, this.options.latenessMs, this.budget, undefined, this.options.maxSourceSkewMs ?? 5 * this.options.windowMs);
  }

  /** Stage 1: access events (keyed by tenant + IP) → IP windows, per-event rules, and partials for the other entities. */
  processAccessEvents(state: PartitionState, inputs: readonly OffsetEvent[]): StepResult {
    const { windowMs } = this.options;
    const anomalies: Anomaly[] = [];
    // partials of this batch, in creation order; looked up per (tenant, window) group, then per type by entity (no key concatenation per event)
    const partials: PartialOut[] = [];
    const groups = new Map<string, PartialGroup>();
    let group: PartialGroup | undefined;
    let lastOffset: string | null = null;
    const replayUntil = state.replayUntil === null ? -1 : offsetNumber(state.replayUntil);
    // the tenant's hot IPs (events of a partition are mostly of one tenant)
    let ipsTenant: string | null = null;
    let ips: Map<string, HotEntity> | undefined;
    const hashes = this.hashes;
    for (const { offset, event: e } of inputs) {
      const off = offsetNumber(offset);
      lastOffset = offset;
      state.watermark.observe(e.ts);
      const ws = windowStartOf(e.ts, windowMs);
      if (ws + windowMs <= state.closedThrough) {
        state.late += 1;
        continue;
      }
      state.eventsSinceCheckpoint += 1;
      if (e.tenant !== ipsTenant) {
        ipsTenant = e.tenant;
        ips = state.hotEntitiesOf(e.tenant, 'ip');
      }
      const h = ips!.get(e.clientIp);
      const cur = h?.cur;
      const w = cur && cur.windowStart === ws ? cur : this.openWindow(state, h, e.tenant, 'ip', e.clientIp, ws, off);
      hashes.set(e); // the event's strings hashed once for its IP window and its four partials
      w.agg.add(e, hashes);
      this.early(state, w, anomalies);
      const hits = this.rules.check(e);
      for (let i = 0; i < hits.length; i++) {
        const a = this.ruleAnomaly(state, hits[i]!, e, ws);
        if (a) anomalies.push(a);
      }
      if (off <= replayUntil) continue;
      if (!group || group.ws !== ws || group.tenant !== e.tenant) {
        const gk = `${e.tenant}|${ws}`;
        group = groups.get(gk);
        if (!group) groups.set(gk, (group = { tenant: e.tenant, ws, endpoint: new Map(), tenantWide: undefined, token: new Map() }));
      }
      this.endpointPartial(group, partials, e).agg.add(e, hashes);
      (group.tenantWide ??= this.newPartial(partials, e.tenant, ws, 'tenant', e.tenant)).agg.add(e, hashes);
      if (e.tokenId) {
        let tp = group.token.get(e.tokenId);
        if (!tp) group.token.set(e.tokenId, (tp = this.newPartial(partials, group.tenant, ws, 'token', e.tokenId)));
        tp.agg.add(e, hashes);
        this.tokenIpPartial(tp, partials, e).agg.add(e, hashes);
      }
    }
    if (lastOffset !== null) state.lastProcessed = BigInt(lastOffset);
    anomalies.push(...this.closeWindows(state));
    const out: RekeyedPartial[] = [];
    if (lastOffset !== null) {
      let seq = 0;
      for (const p of partials) {
        out.push({
          v: 1,
          tenant: p.tenant,
          entityType: p.entityType,
          entity: p.entity,
          windowStart: p.agg.windowStart,
          source: { partition: state.partition, lastOffset, seq: seq++ },
          // the live aggregate: in-process it is merged as is; on the bus JSON.stringify writes its toJSON() wire form
          agg: p.agg,
        });
      }
    }
    return { anomalies, partials: out };
  }

  /**
   * Stage 2: re-keyed partials (keyed by tenant + entity type + entity) → that entity's windows. Partials passed in
   * process (live aggregates from processAccessEvents) are consumed: their aggregates go back to the pool.
   */
  processPartials(state: PartitionState, inputs: readonly OffsetPartial[]): Anomaly[] {
    const { windowMs } = this.options;
    const anomalies: Anomaly[] = [];
    let lastOffset: string | null = null;
    // a source batch's partials share its last offset: parsed once
    let srcText: string | null = null;
    let src = 0;
    for (const { offset, partial: p } of inputs) {
      const off = offsetNumber(offset);
      lastOffset = offset;
      if (p.source.lastOffset !== srcText) {
        srcText = p.source.lastOffset;
        src = offsetNumber(srcText);
      }
      const hw = state.highwater.get(p.source.partition);
      if (hw && (src < hw.offset || (src === hw.offset && p.source.seq <= hw.seq))) continue; // a replayed duplicate
      if (hw) {
        hw.offset = src;
        hw.seq = p.source.seq;
      } else state.highwater.set(p.source.partition, { offset: src, seq: p.source.seq });
      const live = p.agg instanceof WindowAggregate;
      const agg = live ? (p.agg as WindowAggregate) : WindowAggregate.fromJSON(p.agg as WindowAggJson);
      if (agg.windowMs !== windowMs || agg.windowStart !== p.windowStart) continue; // a partial from a differently configured instance
      state.watermark.observeFrom(p.source.partition, agg.lastTs);
      if (p.windowStart + windowMs <= state.closedThrough) {
        state.late += agg.requests;
        if (live) this.aggPool.push(agg);
        continue;
      }
      state.eventsSinceCheckpoint += agg.requests;
      const h = state.hotEntity(p.tenant, p.entityType, p.entity);
      const cur = h?.cur;
      const w = cur && cur.windowStart === p.windowStart ? cur : this.openWindow(state, h, p.tenant, p.entityType, p.entity, p.windowStart, off);
      w.agg.merge(agg);
      if (live) this.aggPool.push(agg);
      this.early(state, w, anomalies);
    }
    if (lastOffset !== null) state.lastProcessed = BigInt(lastOffset);
    anomalies.push(...this.closeWindows(state));
    return anomalies;
  }

  /**
   * What the entity's baseline expects for a metric in a window (for tests, the CLI and explanations): the
   * evaluation of an observed value without changing any state. Null when the entity is unknown here.
   */
  inspect(state: PartitionState, tenant: string, type: EntityType, entity: string, metric: MetricName, windowStart: number, observed = 0): (Evaluation & { windows: number }) | null {
    const key = entityKey(tenant, type, entity);
    const hot = state.hotState(key);
    const packed = state.idle(key);
    if (!hot && !packed) return null;
    const s = hot ?? (packed ? EntityState.decode(type, packed) : null);
    const b = s?.peek(metric);
    if (!s || !b) return null;
    return { ...b.evaluate(observed, windowStart, state.population.get(`${tenant}|${type}|${metric}`)), windows: b.windows };
  }

  /** The group's endpoint partial for the event (by route, then method: no endpoint string built per event). */
  private endpointPartial(g: PartialGroup, out: PartialOut[], e: AccessEvent): PartialOut {
    const r = e.route || e.path;
    let byMethod = g.endpoint.get(r);
    if (!byMethod) g.endpoint.set(r, (byMethod = new Map()));
    let p = byMethod.get(e.method);
    if (!p) {
      // another spelling of the same method ("get" / "GET") is the same endpoint entity
      const entity = endpointOf(e);
      for (const q of byMethod.values()) if (q.entity === entity) p = q;
      p ??= this.newPartial(out, g.tenant, g.ws, 'endpoint', entity);
      byMethod.set(e.method, p);
    }
    return p;
  }

  /** The token×IP partial of the event, kept on its token's partial (a token mostly comes from one IP: no map then). */
  private tokenIpPartial(tp: PartialOut, out: PartialOut[], e: AccessEvent): PartialOut {
    if (tp.ipPart) {
      if (tp.ip === e.clientIp) return tp.ipPart;
      let p = tp.moreIps?.get(e.clientIp);
      if (!p) (tp.moreIps ??= new Map()).set(e.clientIp, (p = this.newPartial(out, tp.tenant, tp.agg.windowStart, 'token_ip', tokenIpEntity(e.tokenId, e.clientIp))));
      return p;
    }
    tp.ip = e.clientIp;
    return (tp.ipPart = this.newPartial(out, tp.tenant, tp.agg.windowStart, 'token_ip', tokenIpEntity(e.tokenId, e.clientIp)));
  }

  private newPartial(out: PartialOut[], tenant: string, ws: number, entityType: EntityType, entity: string): PartialOut {
    const p: PartialOut = { tenant, entityType, entity, agg: this.newAgg(ws, WINDOW_TRACKS[entityType]), ip: '', ipPart: null, moreIps: null };
    out.push(p);
    return p;
  }

  private newAgg(ws: number, tracks: number): WindowAggregate {
    const agg = this.aggPool.pop();
    if (!agg) return new WindowAggregate(ws, this.options.windowMs, tracks);
    agg.reset(ws, this.options.windowMs, tracks);
    return agg;
  }

  /**
   * The entity's open window starting at `ws` when it is not the one its last event went to: another open one
   * (made current), or a new one (the entity made hot first when it had none).
   */
  private openWindow(state: PartitionState, hot: HotEntity | undefined, tenant: string, entityType: EntityType, entity: string, ws: number, off: number): OpenWindow {
    let h = hot;
    if (!h) h = state.makeHot(tenant, entityType, entity, ws);
    else if (h.openWindows === 0) state.activate(h);
    else {
      const others = h.others;
      for (let i = 0; i < others.length; i++) {
        const o = others[i]!;
        if (o.windowStart !== ws) continue;
        if (h.cur) others[i] = h.cur;
        else others.splice(i, 1);
        h.cur = o;
        return o;
      }
    }
    const agg = this.newAgg(ws, WINDOW_TRACKS[entityType]);
    const slots = this.earlyPlans[TYPE_INDEX[entityType]]!.length; // one per applicable baseline detector (the plan is aligned with them)
    let w = this.windowPool.pop();
    if (w) {
      w.key = h.key;
      w.tenant = tenant;
      w.entityType = entityType;
      w.entity = entity;
      w.windowStart = ws;
      w.agg = agg;
      w.firstOffset = off;
      w.fired = null;
      w.skipUpTo.length = slots;
      w.skipUpTo.fill(-Infinity);
      w.held = undefined;
      w.hot = h;
    } else {
      w = { key: h.key, tenant, entityType, entity, windowStart: ws, agg, firstOffset: off, fired: null, skipUpTo: new Array<number>(slots).fill(-Infinity), hot: h };
    }
    if (h.cur) h.others.push(h.cur);
    h.cur = w;
    h.openWindows += 1;
    let list = state.open.get(ws);
    if (!list) state.open.set(ws, (list = []));
    list.push(w);
    return w;
  }

  private ctx(state: PartitionState, w: OpenWindow): WindowCtx {
    return this.ctxBox.fill(state, w, w.hot.state, this.options.windowMs);
  }

  /** Early firing, evaluated only when some detector's metric passed what it skips (most events pass none). */
  private early(state: PartitionState, w: OpenWindow, out: Anomaly[]): void {
    if (!earlyDue(this.earlyPlans[TYPE_INDEX[w.entityType]]!, w.agg, w.skipUpTo)) return;
    const findings = evaluatePartialWindow(this.ctx(state, w), this.options.detectors, w.fired, w.skipUpTo);
    if (findings.length) out.push(...this.emit(state, w, findings, w.agg.lastTs));
  }

  private emit(state: PartitionState, w: OpenWindow, findings: readonly Finding[], detectedAt: number): Anomaly[] {
    const out: Anomaly[] = [];
    for (const f of findings) {
      (w.fired ??= new Set()).add(f.detector);
      if (this.feedback.suppressed(w.key, f.detector, w.windowStart)) {
        this.suppressedFindings += 1;
        continue;
      }
      const metric = metricOfDetector(f.detector);
      if (metric) (w.held ??= new Set()).add(metric);
      const id = anomalyId(f.detector, w.tenant, w.entityType, w.entity, w.windowStart);
      if (!this.markFired(state, w.windowStart, id)) continue;
      const samples = f.samples === 'failures' && w.agg.failureSamples.length ? w.agg.failureSamples : w.agg.samples;
      out.push({
        v: 1,
        id,
        tenant: w.tenant,
        detector: f.detector,
        entityType: w.entityType,
        entity: w.entity,
        metric: f.metric,
        windowStart: w.windowStart,
        windowEnd: w.windowStart + this.options.windowMs,
        detectedAt,
        early: f.early,
        observed: finite(f.observed),
        expected: finite(f.expected),
        lower: finite(f.lower),
        upper: finite(f.upper),
        score: Math.min(1, Math.max(0, finite(f.score))),
        severity: f.severity,
        explanation: f.explanation.slice(0, 4096),
        contributors: {
          ips: w.agg.top('ips', 5),
          paths: w.agg.top('paths', 5),
          statuses: w.agg.top('statuses', 5),
        },
        sampleEventIds: samples.slice(0, 10),
      });
    }
    return out;
  }

  /** False when this anomaly id was already emitted for a window still open (replay after a restore). */
  private markFired(state: PartitionState, ws: number, id: string): boolean {
    let ids = state.firedIds.get(ws);
    if (!ids) state.firedIds.set(ws, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    return true;
  }

  private ruleAnomaly(state: PartitionState, hit: EventHit, e: AccessEvent, ws: number): Anomaly | null {
    if (this.feedback.suppressed(entityKey(e.tenant, hit.entityType, hit.entity), hit.detector, ws)) {
      this.suppressedFindings += 1;
      return null;
    }
    const id = anomalyId(hit.detector, e.tenant, hit.entityType, hit.entity, ws);
    if (!this.markFired(state, ws, id)) return null;
    const score = Math.min(1, Math.max(0, hit.score));
    return {
      v: 1,
      id,
      tenant: e.tenant,
      detector: hit.detector,
      entityType: hit.entityType,
      entity: hit.entity,
      metric: hit.metric,
      windowStart: ws,
      windowEnd: ws + this.options.windowMs,
      detectedAt: e.ts,
      early: true,
      observed: 1,
      expected: 0,
      lower: 0,
      upper: 0,
      score,
      severity: severityFromScore(score),
      explanation: hit.explain(1, this.options.windowMs).slice(0, 4096),
      contributors: {
        ips: [{ value: e.clientIp, count: 1 }],
        paths: [{ value: e.path.slice(0, 1024), count: 1 }],
        statuses: [{ value: String(e.status), count: 1 }],
      },
      sampleEventIds: [e.id],
    };
  }

  /** Close every window the watermark has passed, oldest first: evaluate, then fold into the baselines. */
  private closeWindows(state: PartitionState): Anomaly[] {
    const { windowMs } = this.options;
    const wm = state.watermark.value;
    let due: number[] | null = null;
    for (const ws of state.open.keys()) if (ws + windowMs <= wm) (due ??= []).push(ws);
    const anomalies: Anomaly[] = [];
    if (!due) return anomalies;
    if (due.length > 1) due.sort((a, b) => a - b);
    for (let di = 0; di < due.length; di++) {
      const ws = due[di]!;
      const windows = state.open.get(ws)!;
      for (let wi = 0; wi < windows.length; wi++) {
        const w = windows[wi]!;
        const ctx = this.ctx(state, w);
        const es = ctx.state;
        const findings = evaluateClosedWindow(ctx, this.options.detectors, w.fired);
        if (findings.length) anomalies.push(...this.emit(state, w, findings, ws + windowMs));
        const metrics = ENTITY_METRICS[w.entityType];
        for (let mi = 0; mi < metrics.length; mi++) {
          const m = metrics[mi]!;
          const value = METRICS[m].value(w.agg);
          if (!es.folds(m, value)) continue;
          if (this.feedback.excludes(w.key, ws, m)) {
            this.updatesDropped += 1;
            continue;
          }
          if (w.held?.has(m)) {
            state.pending.push({ key: w.key, metric: m, value, windowStart: ws });
            continue;
          }
          es.baseline(m).update(value, ws, state.populationFor(w.tenant, w.entityType, m));
        }
        es.windowClosed(ws);
        state.closeWindowOf(w.hot, w);
        this.aggPool.push(w.agg);
        this.windowPool.push(w);
      }
      state.open.delete(ws);
      state.firedIds.delete(ws);
      state.closedThrough = Math.max(state.closedThrough, ws + windowMs);
    }
    this.applyHeldUpdates(state);
    this.feedback.prune(wm);
    state.evict(this.options.idleTtlMs);
    return anomalies;
  }

  /** Held-back updates whose hold has passed: applied, or dropped when feedback flagged their window meanwhile. */
  private applyHeldUpdates(state: PartitionState): void {
    const p = state.pending;
    if (p.length === 0) return;
    const cutoff = state.watermark.value - this.options.windowMs - this.feedback.options.holdMs;
    let n = 0;
    while (n < p.length && p[n]!.windowStart <= cutoff) {
      const u = p[n++]!;
      if (this.feedback.excludes(u.key, u.windowStart, u.metric)) {
        this.updatesDropped += 1;
        continue;
      }
      const type = typeOfKey(u.key);
      const tenant = u.key.slice(0, u.key.indexOf('|'));
      state.mutate(u.key, type, (s) => s.baseline(u.metric).update(u.value, u.windowStart, state.populationFor(tenant, type, u.metric)));
    }
    if (n) state.pending = p.slice(n);
  }
}

interface PartialOut {
  tenant: string;
  entityType: EntityType;
  entity: string;
  agg: WindowAggregate;
  /** Token partials: the batch's token×IP partials of this token (the first IP's, then a map for the others). */
  ip: string;
  ipPart: PartialOut | null;
  moreIps: Map<string, PartialOut> | null;
}

/** One batch's partials of one tenant and window, per entity type. */
interface PartialGroup {
  tenant: string;
  ws: number;
  /** route (or path) → method as sent → partial */
  endpoint: Map<string, Map<string, PartialOut>>;
  tenantWide: PartialOut | undefined;
  /** token → partial (which holds the token×IP ones) */
  token: Map<string, PartialOut>;
}

/** The evaluation context as one reusable object (no closure per call). */
class EvalCtx implements WindowCtx {
  tenant = '';
  entityType: EntityType = 'ip';
  entity = '';
  windowStart = 0;
  windowMs = 0;
  agg!: WindowAggregate;
  state!: EntityState;
  private part!: PartitionState;

  fill(part: PartitionState, w: OpenWindow, es: EntityState, windowMs: number): this {
    this.part = part;
    this.tenant = w.tenant;
    this.entityType = w.entityType;
    this.entity = w.entity;
    this.windowStart = w.windowStart;
    this.windowMs = windowMs;
    this.agg = w.agg;
    this.state = es;
    return this;
  }

  population(metric: MetricName): PopulationBaseline | undefined {
    return this.part.populationOf(this.tenant, this.entityType, metric);
  }
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : n > 0 ? Number.MAX_SAFE_INTEGER : 0;
}
