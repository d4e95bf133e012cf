import { anomalyKey, decodeAccessEventMessage, DetectorFeedback, RekeyedPartial, rekeyedKey, splitTokenIpEntity, TOPICS, validate, type Anomaly } from '@vigil/contracts';
import { systemClock, type Clock, type EventBus, type InboundMessage, type MetricsService, type StartOffsets, type Store, type VigilConfig } from '@vigil/platform';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { DetectorsConfig } from '../../detectors/detector-config.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../engine/checkpoint-codec.js';
import { DetectionEngine, type OffsetEvent, type OffsetPartial } from '../../engine/detection-engine.js';
import type { MetricName } from '../../engine/metrics-catalog.js';
import type { PartitionState } from '../../engine/partition-state.js';
import type { FeedbackOptions } from '../../feedback/feedback-registry.js';
import type { EntityType } from '@vigil/contracts';

/** The two inputs: access events (IP entities live here) and the re-keyed partials (every other entity type). */
export type DetectorStream = 'access' | 'rekeyed';

export interface DetectAnomaliesDeps {
  bus: EventBus;
  /** Anomalies and the per-partition checkpoints (`store.checkpoints`). */
  store: Store;
  settings: VigilConfig['detector'];
  detectors: DetectorsConfig;
  /** Consumer group prefix; the two streams use `<prefix>-detector` and `<prefix>-detector-rekeyed`. */
  groupPrefix: string;
  logger: Logger;
  /** Offsets survive a restart (Kafka). The in-process bus starts empty, so only baselines are restored there. */
  durableOffsets: boolean;
  /** Wall clock stamping checkpoints (the newest wins). */
  clock?: Clock;
  /** False-positive feedback topic (default `vigil.detector-feedback`, where the alert service publishes). */
  feedbackTopic?: string;
  feedback?: Partial<FeedbackOptions>;
  /** Where the detector's own counters are exported (`/metrics`); none in unit tests. */
  metrics?: MetricsService;
}

export interface DetectorCounters {
  events: number;
  partials: number;
  invalid: number;
  anomalies: number;
  checkpoints: number;
  restored: number;
  feedback: number;
  /**
   * Events left out because their window had already closed: access events older than the allowed lateness, and
   * events inside re-keyed partials from a source partition that fell further behind the others than the lateness.
   */
  late: Record<DetectorStream, number>;
}

/**
 * The detector use case: turns batches of the two inputs into anomalies (stored, then published keyed by
 * `anomalyKey`) and re-keyed partials, and owns the per-partition state: restored from the last checkpoint when a
 * partition is assigned (returning where the bus should resume), checkpointed periodically and when revoked.
 * Anomaly ids are deterministic and ids already emitted for open windows are part of the checkpoint, so a replay
 * after a restore emits no duplicate.
 */
export class DetectAnomalies {
  readonly engine: DetectionEngine;
  readonly counters: DetectorCounters = { events: 0, partials: 0, invalid: 0, anomalies: 0, checkpoints: 0, restored: 0, feedback: 0, late: { access: 0, rekeyed: 0 } };
  private readonly lateEvents: Counter<'input'> | null;
  private readonly anomaliesTotal: Counter<'detector'> | null;
  private readonly states: Record<DetectorStream, Map<number, PartitionState>> = { access: new Map(), rekeyed: new Map() };
  private readonly log: Logger;
  private readonly clock: Clock;
  private lastCheckpointAt = 0;

  constructor(private readonly deps: DetectAnomaliesDeps) {
    const s = deps.settings;
    this.engine = new DetectionEngine({
      windowMs: s.windowMs,
      latenessMs: s.latenessMs,
      maxEntities: s.maxEntities,
      idleTtlMs: s.idleTtlMs,
      detectors: deps.detectors,
      ...(deps.feedback ? { feedback: deps.feedback } : {}),
    });
    this.log = deps.logger.child({ component: 'detect-anomalies' });
    this.clock = deps.clock ?? systemClock;
    this.lateEvents =
      deps.metrics?.counter({
        name: 'vigil_detector_late_events_total',
        help: 'Events left out of their window because it had already closed, by input: access events older than the allowed lateness; events in re-keyed partials from a source partition that fell behind',
        labelNames: ['input'],
      }) ?? null;
    this.anomaliesTotal = deps.metrics?.counter({ name: 'vigil_detector_anomalies_total', help: 'Anomalies emitted, by detector', labelNames: ['detector'] }) ?? null;
  }

  get feedbackTopic(): string {
    return this.deps.feedbackTopic ?? TOPICS.detectorFeedback;
  }

  /**
   * Every instance reads all the feedback (a group of its own, from the beginning of the topic): the entity a
   * verdict is about may live on any instance, now or after the next rebalance.
   */
  feedbackGroupId(instance: string): string {
    return `${this.deps.groupPrefix}-detector-feedback-${instance}`;
  }

  /** False-positive verdicts from the alert service (see DetectionEngine.applyFeedback). */
  handleFeedback(messages: readonly InboundMessage[]): void {
    for (const m of messages) {
      const r = validate(DetectorFeedback, parseJson(m.value));
      if (!r.ok) {
        this.invalid(m, r.reason);
        continue;
      }
      this.engine.applyFeedback(r.value);
      this.counters.feedback += 1;
      this.log.info({ anomalyId: r.value.anomalyId, detector: r.value.detector, entityType: r.value.entityType, entity: r.value.entity, windowStart: r.value.windowStart, actor: r.value.actor }, 'false positive: window left out of the baseline, detector suppressed for the entity');
    }
  }

  topic(stream: DetectorStream): string {
    return stream === 'access' ? this.deps.settings.accessEventsTopic : this.deps.settings.rekeyTopic;
  }

  groupId(stream: DetectorStream): string {
    return stream === 'access' ? `${this.deps.groupPrefix}-detector` : `${this.deps.groupPrefix}-detector-rekeyed`;
  }

  /**
   * A message is one AccessEvent or an envelope of several (ingest's form for a batch's events of one partition; both
   * are read, so a topic written before envelopes is too). An envelope's events share its offset: replay and
   * checkpoints work per message, and a batch always holds whole messages.
   */
  async handleAccessEvents(messages: readonly InboundMessage[], partition: number): Promise<void> {
    const inputs: OffsetEvent[] = [];
    for (const m of messages) {
      const { events, invalid } = decodeAccessEventMessage(m.value);
      for (const event of events) inputs.push({ offset: m.offset, event });
      for (const reason of invalid) this.invalid(m, reason);
    }
    const state = this.state('access', partition);
    const lateBefore = state.late;
    const { anomalies, partials } = this.engine.processAccessEvents(state, inputs);
    this.counters.events += inputs.length;
    this.countLate('access', state.late - lateBefore);
    if (partials.length) {
      await this.deps.bus.publish(
        this.deps.settings.rekeyTopic,
        partials.map((p) => ({ key: rekeyedKey(p), value: JSON.stringify(p) })),
      );
    }
    await this.emit(anomalies);
    await this.maybeCheckpoint('access', state);
  }

  async handleRekeyed(messages: readonly InboundMessage[], partition: number): Promise<void> {
    const inputs: OffsetPartial[] = [];
    for (const m of messages) {
      const r = validate(RekeyedPartial, parseJson(m.value));
      if (r.ok) inputs.push({ offset: m.offset, partial: r.value });
      else this.invalid(m, r.reason);
    }
    const state = this.state('rekeyed', partition);
    const lateBefore = state.late;
    let anomalies: Anomaly[];
    try {
      anomalies = this.engine.processPartials(state, inputs);
    } catch (err) {
      // a malformed aggregate inside a valid envelope: skip the batch's bad record rather than block the partition
      this.log.warn({ err, partition }, 'a re-keyed partial could not be decoded; retrying the batch one record at a time');
      anomalies = [];
      for (const input of inputs) {
        try {
          anomalies.push(...this.engine.processPartials(state, [input]));
        } catch (e) {
          this.counters.invalid += 1;
          this.log.warn({ err: e, partition, offset: input.offset }, 're-keyed partial skipped');
        }
      }
    }
    this.counters.partials += inputs.length;
    this.countLate('rekeyed', state.late - lateBefore);
    await this.emit(anomalies);
    await this.maybeCheckpoint('rekeyed', state);
  }

  /** Partitions assigned: restore each from its checkpoint; returns the offsets to resume from. */
  async assigned(stream: DetectorStream, partitions: readonly number[]): Promise<StartOffsets> {
    const seeks: StartOffsets = {};
    for (const p of partitions) {
      const key = { consumerGroup: this.groupId(stream), topic: this.topic(stream), partition: p };
      let restored: ReturnType<typeof decodeCheckpoint> | null = null;
      const stored = await this.readCheckpoint(key);
      if (stored) {
        try {
          restored = decodeCheckpoint(this.engine, stored.data);
          // a clock behind the previous owner's must not make our checkpoints older than the one we restored
          this.lastCheckpointAt = Math.max(this.lastCheckpointAt, stored.updatedAt);
        } catch (err) {
          this.log.error({ err, ...key }, 'checkpoint could not be decoded; starting the partition cold');
        }
      }
      if (!restored) {
        this.states[stream].get(p)?.dispose();
        this.states[stream].set(p, this.engine.newPartition(key.topic, p));
        continue;
      }
      const { state, meta } = restored;
      if (!this.deps.durableOffsets) {
        // offsets of an in-memory bus do not survive the process: keep the learned baselines, forget positions
        state.replayUntil = null;
        state.lastProcessed = null;
        state.highwater.clear();
        state.firedIds.clear();
      } else if (meta.resumeOffset !== null) {
        seeks[p] = meta.resumeOffset;
      }
      this.states[stream].get(p)?.dispose();
      this.states[stream].set(p, state);
      this.counters.restored += 1;
      this.log.info({ ...key, entities: meta.entities, resumeOffset: meta.resumeOffset }, 'detector state restored from checkpoint');
    }
    return seeks;
  }

  /**
   * The partition's checkpoint, read again while the store fails (up to `CHECKPOINT_READ_BUDGET_MS`): starting the
   * partition cold would forget every baseline in it for good, and while the store is down its batches could not be
   * stored anyway (found by the distributed drill: a detector took over a SIGKILLed one's partitions while ClickHouse
   * was stopped and started them cold). Null when there is none, or when the store stays down past the budget.
   */
  private async readCheckpoint(key: { consumerGroup: string; topic: string; partition: number }): Promise<Awaited<ReturnType<Store['checkpoints']['get']>>> {
    const started = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.store.checkpoints.get(key);
      } catch (err) {
        const waited = this.clock.now() - started;
        if (waited >= CHECKPOINT_READ_BUDGET_MS) {
          this.log.error({ err, ...key, attempts: attempt, waitedMs: waited }, 'checkpoint could not be read; starting the partition cold');
          return null;
        }
        const retryInMs = Math.min(5_000, 250 * 2 ** (attempt - 1));
        this.log.warn({ err, ...key, attempt, retryInMs }, 'checkpoint could not be read; the partition waits for it');
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
      }
    }
  }

  /** Partitions revoked (rebalance or shutdown): checkpoint them, then let go of their state. */
  async revoked(stream: DetectorStream, partitions: readonly number[]): Promise<void> {
    for (const p of partitions) {
      const state = this.states[stream].get(p);
      if (!state) continue;
      try {
        await this.checkpoint(stream, state);
      } catch (err) {
        this.log.error({ err, stream, partition: p }, 'checkpoint on revoke failed; the next owner replays from the previous one');
      }
      state.dispose();
      this.states[stream].delete(p);
    }
  }

  /** What an entity's baseline expects for a metric (tests, diagnostics). Searches this instance's partitions. */
  inspect(tenant: string, type: EntityType, entity: string, metric: MetricName, windowStart: number, observed = 0) {
    const stream: DetectorStream = type === 'ip' ? 'access' : 'rekeyed';
    for (const state of this.states[stream].values()) {
      const r = this.engine.inspect(state, tenant, type, entity, metric, windowStart, observed);
      if (r) return r;
    }
    return null;
  }

  partitions(stream: DetectorStream): number[] {
    return [...this.states[stream].keys()].sort((a, b) => a - b);
  }

  entityCount(): number {
    return this.engine.budget.count;
  }

  private state(stream: DetectorStream, partition: number): PartitionState {
    let s = this.states[stream].get(partition);
    if (!s) this.states[stream].set(partition, (s = this.engine.newPartition(this.topic(stream), partition)));
    return s;
  }

  private async emit(anomalies: Anomaly[]): Promise<void> {
    if (anomalies.length === 0) return;
    await this.deps.store.anomalies.insert(anomalies);
    await this.deps.bus.publish(
      this.deps.settings.anomaliesTopic,
      anomalies.map((a) => ({ key: incidentKey(a), value: JSON.stringify(a), headers: { detector: a.detector, severity: a.severity } })),
    );
    this.counters.anomalies += anomalies.length;
    for (const a of anomalies) {
      this.anomaliesTotal?.inc({ detector: a.detector });
      this.log.info({ anomalyId: a.id, detector: a.detector, entityType: a.entityType, entity: a.entity, severity: a.severity, early: a.early }, a.explanation);
    }
  }

  private countLate(stream: DetectorStream, n: number): void {
    if (n <= 0) return;
    this.counters.late[stream] += n;
    this.lateEvents?.inc({ input: stream }, n);
  }

  private async maybeCheckpoint(stream: DetectorStream, state: PartitionState): Promise<void> {
    const s = this.deps.settings;
    const due = state.eventsSinceCheckpoint >= s.checkpointEveryEvents || state.watermark.maxEventTime - state.lastCheckpointTs >= s.checkpointIntervalMs;
    if (due && state.lastProcessed !== null) await this.checkpoint(stream, state);
  }

  private async checkpoint(stream: DetectorStream, state: PartitionState): Promise<void> {
    if (state.lastProcessed === null && state.entityCount === 0) return;
    const { bytes, meta } = encodeCheckpoint(this.engine, state);
    // strictly increasing per instance, so two checkpoints within one millisecond still order
    const at = (this.lastCheckpointAt = Math.max(this.clock.now(), this.lastCheckpointAt + 1));
    await this.deps.store.checkpoints.put({
      consumerGroup: this.groupId(stream),
      topic: state.topic,
      partition: state.partition,
      data: bytes,
      offset: state.lastProcessed === null ? '0' : (state.lastProcessed + 1n).toString(),
      updatedAt: at,
    });
    state.eventsSinceCheckpoint = 0;
    state.lastCheckpointTs = state.watermark.maxEventTime;
    this.counters.checkpoints += 1;
    this.log.debug({ stream, partition: state.partition, bytes: bytes.byteLength, entities: meta.entities, resumeOffset: meta.resumeOffset }, 'detector checkpoint written');
  }

  private invalid(m: InboundMessage, reason: string): void {
    this.counters.invalid += 1;
    this.log.warn({ topic: m.topic, partition: m.partition, offset: m.offset, reason }, 'invalid message skipped');
  }
}

/** How long a partition assignment keeps retrying its checkpoint read before it starts cold (a store outage). */
export const CHECKPOINT_READ_BUDGET_MS = 5 * 60_000;

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/**
 * The partition key of a published anomaly: the entity of the incident it belongs to, so every anomaly of one incident
 * is handled by one alert instance. A token×IP anomaly joins its token's incident; keyed by its own entity it could
 * reach another alert instance than the token's anomalies, and two instances grouping at once both opened the same
 * incident (found by the distributed e2e drill: incident.opened twice on every client and webhook).
 */
export function incidentKey(a: Pick<Anomaly, 'tenant' | 'entityType' | 'entity'>): string {
  if (a.entityType === 'token_ip') {
    const split = splitTokenIpEntity(a.entity);
    if (split) return anomalyKey({ tenant: a.tenant, entityType: 'token', entity: split.tokenId });
  }
  return anomalyKey(a);
}
