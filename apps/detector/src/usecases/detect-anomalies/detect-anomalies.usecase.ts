import { AccessEvent, anomalyKey, RekeyedPartial, rekeyedKey, validate, type Anomaly } from '@vigil/contracts';
import type { EventBus, InboundMessage, StartOffsets, Store, VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import type { DetectorsConfig } from '../../detectors/detector-config.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../engine/checkpoint-codec.js';
import { DetectionEngine, type OffsetEvent, type OffsetPartial } from '../../engine/detection-engine.js';
import type { MetricName } from '../../engine/metrics-catalog.js';
import type { PartitionState } from '../../engine/partition-state.js';
import type { CheckpointRepository } from '../../repositories/checkpoint.repository.js';
import type { EntityType } from '@vigil/contracts';

/** The two inputs: access events (IP entities live here) and the re-keyed partials (every other entity type). */
export type DetectorStream = 'access' | 'rekeyed';

export interface DetectAnomaliesDeps {
  bus: EventBus;
  store: Store;
  checkpoints: CheckpointRepository;
  settings: VigilConfig['detector'];
  detectors: DetectorsConfig;
  /** Consumer group prefix; the two streams use `<prefix>-detector` and `<prefix>-detector-rekeyed`. */
  groupPrefix: string;
  logger: Logger;
  /** Offsets survive a restart (Kafka). The in-process bus starts empty, so only baselines are restored there. */
  durableOffsets: boolean;
}

export interface DetectorCounters {
  events: number;
  partials: number;
  invalid: number;
  anomalies: number;
  checkpoints: number;
  restored: number;
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
  readonly counters: DetectorCounters = { events: 0, partials: 0, invalid: 0, anomalies: 0, checkpoints: 0, restored: 0 };
  private readonly states: Record<DetectorStream, Map<number, PartitionState>> = { access: new Map(), rekeyed: new Map() };
  private readonly log: Logger;

  constructor(private readonly deps: DetectAnomaliesDeps) {
    const s = deps.settings;
    this.engine = new DetectionEngine({ windowMs: s.windowMs, latenessMs: s.latenessMs, maxEntities: s.maxEntities, idleTtlMs: s.idleTtlMs, detectors: deps.detectors });
    this.log = deps.logger.child({ component: 'detect-anomalies' });
  }

  topic(stream: DetectorStream): string {
    return stream === 'access' ? this.deps.settings.accessEventsTopic : this.deps.settings.rekeyTopic;
  }

  groupId(stream: DetectorStream): string {
    return stream === 'access' ? `${this.deps.groupPrefix}-detector` : `${this.deps.groupPrefix}-detector-rekeyed`;
  }

  async handleAccessEvents(messages: readonly InboundMessage[], partition: number): Promise<void> {
    const inputs: OffsetEvent[] = [];
    for (const m of messages) {
      const r = validate(AccessEvent, parseJson(m.value));
      if (r.ok) inputs.push({ offset: m.offset, event: r.value });
      else this.invalid(m, r.reason);
    }
    const state = this.state('access', partition);
    const { anomalies, partials } = this.engine.processAccessEvents(state, inputs);
    this.counters.events += inputs.length;
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
    await this.emit(anomalies);
    await this.maybeCheckpoint('rekeyed', state);
  }

  /** Partitions assigned: restore each from its checkpoint; returns the offsets to resume from. */
  async assigned(stream: DetectorStream, partitions: readonly number[]): Promise<StartOffsets> {
    const seeks: StartOffsets = {};
    for (const p of partitions) {
      const key = { group: this.groupId(stream), topic: this.topic(stream), partition: p };
      let stored;
      try {
        stored = await this.deps.checkpoints.load(key);
      } catch (err) {
        this.log.error({ err, ...key }, 'checkpoint could not be read; starting the partition cold');
        stored = null;
      }
      if (!stored) {
        this.states[stream].get(p)?.dispose();
        this.states[stream].set(p, this.engine.newPartition(key.topic, p));
        continue;
      }
      const { state, meta } = decodeCheckpoint(this.engine, stored.bytes);
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
      anomalies.map((a) => ({ key: anomalyKey(a), value: JSON.stringify(a), headers: { detector: a.detector, severity: a.severity } })),
    );
    this.counters.anomalies += anomalies.length;
    for (const a of anomalies) {
      this.log.info({ anomalyId: a.id, detector: a.detector, entityType: a.entityType, entity: a.entity, severity: a.severity, early: a.early }, a.explanation);
    }
  }

  private async maybeCheckpoint(stream: DetectorStream, state: PartitionState): Promise<void> {
    const s = this.deps.settings;
    const due = state.eventsSinceCheckpoint >= s.checkpointEveryEvents || state.watermark.maxEventTime - state.lastCheckpointTs >= s.checkpointIntervalMs;
    if (due && state.lastProcessed !== null) await this.checkpoint(stream, state);
  }

  private async checkpoint(stream: DetectorStream, state: PartitionState): Promise<void> {
    if (state.lastProcessed === null && state.entityCount === 0) return;
    const { bytes, meta } = encodeCheckpoint(state);
    const version = state.lastProcessed === null ? 0 : Number(state.lastProcessed + 1n);
    await this.deps.checkpoints.save({ group: this.groupId(stream), topic: state.topic, partition: state.partition }, version, bytes);
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

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
