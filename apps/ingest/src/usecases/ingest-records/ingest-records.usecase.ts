import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AccessEvent, DeadLetter, LogFormat } from '@vigil/contracts';
import {
  CLOCK,
  EVENT_BUS,
  MetricsService,
  STORE,
  VIGIL_CONFIG,
  type Clock,
  type EventBus,
  type Store,
  type VigilConfig,
} from '@vigil/platform';
import type { Counter, Histogram } from 'prom-client';
import { compileTrustedProxies, parseRecord, type ParseContext, type TrustedProxies } from '../../parsers/index.js';
import { accessEventMessages } from './access-event-messages.js';
import { partitionCountsFor, type TopicPartitionCounts } from './topic-partitions.js';

/** One raw record as received, with where it came from (kept on its dead letter). */
export interface RawRecord {
  raw: string | object;
  /** 'kafka:<topic>/<partition>@<offset>' or 'http:<request id>#<index>'. */
  source: string;
  /** Per-record overrides (e.g. from Kafka headers) of the batch's tenant and format. */
  tenant?: string;
  format?: LogFormat | 'auto';
}

export interface RecordError {
  index: number;
  reason: string;
  message: string;
}

export interface ParsedBatch {
  events: AccessEvent[];
  deadLetters: DeadLetter[];
  errors: RecordError[];
}

export interface IngestOptions {
  tenant: string;
  format?: LogFormat | 'auto';
}

const MAX_DEAD_LETTER_RAW = 1024 * 1024;

/**
 * Turns raw gateway records into stored, published AccessEvents; the records that fail go to the dead letters
 * with their reason. Storing and publishing are idempotent by event id, so the caller may simply retry the whole
 * batch on failure (the Kafka consumer does, by not committing).
 */
@Injectable()
export class IngestRecords {
  private readonly trusted: TrustedProxies;
  private readonly accepted: Counter<'format'>;
  private readonly rejected: Counter<'reason'>;
  private readonly persistSeconds: Histogram<string>;
  /** The access-events topic's partition count, for envelopes (null: in-process bus, one event per message). */
  private readonly partitions: TopicPartitionCounts | null;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    metrics: MetricsService,
  ) {
    this.trusted = compileTrustedProxies(config.ingest.trustedProxies);
    this.partitions = partitionCountsFor(bus);
    this.accepted = metrics.counter({ name: 'vigil_ingest_accepted_total', help: 'Records accepted, by format', labelNames: ['format'] });
    this.rejected = metrics.counter({ name: 'vigil_ingest_rejected_total', help: 'Records dead-lettered, by reason', labelNames: ['reason'] });
    this.persistSeconds = metrics.histogram({
      name: 'vigil_ingest_persist_seconds',
      help: 'Time to store and publish one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
  }

  /** Parse and normalise; pure apart from the clock. Duplicates within the batch are dropped (same event id). */
  parse(records: readonly RawRecord[], options: IngestOptions): ParsedBatch {
    const now = this.clock.now();
    const ctx: ParseContext = {
      tenant: options.tenant,
      now,
      format: options.format ?? this.config.ingest.format,
      trustedProxies: this.trusted,
      hashKey: this.config.hashKey,
      maxRecordBytes: this.config.ingest.maxRecordBytes,
    };
    const events: AccessEvent[] = [];
    const seen = new Set<string>();
    const deadLetters: DeadLetter[] = [];
    const errors: RecordError[] = [];
    records.forEach((record, index) => {
      const r = parseRecord(
        record.raw,
        record.tenant || record.format ? { ...ctx, tenant: record.tenant ?? ctx.tenant, format: record.format ?? ctx.format } : ctx,
      );
      if (r.ok) {
        if (!seen.has(r.event.id)) {
          seen.add(r.event.id);
          events.push(r.event);
        }
        return;
      }
      errors.push({ index, reason: r.reason, message: r.message });
      deadLetters.push(deadLetter(record.tenant ?? options.tenant, now, record.source, `${r.reason}: ${r.message}`, r.raw));
    });
    return { events, deadLetters, errors };
  }

  /**
   * Store, then publish for the detector (in chunks of batchMaxEvents, one insert and one publish each); the dead
   * letters are stored then published alongside, as nothing orders them against the events. Throws if any step fails
   * (nothing is committed then; a retry rewrites what was written, idempotently by id).
   */
  async persist(batch: ParsedBatch): Promise<void> {
    const end = this.persistSeconds.startTimer();
    await Promise.all([this.persistEvents(batch.events), this.persistDeadLetters(batch.deadLetters)]);
    // One counter update per label value and batch: a labelled inc costs about as much as parsing a small record.
    for (const [format, n] of countBy(batch.events, (e) => e.format)) this.accepted.inc({ format }, n);
    for (const [reason, n] of countBy(batch.deadLetters, (d) => d.reason.split(':')[0] ?? 'unknown')) this.rejected.inc({ reason }, n);
    end();
  }

  /**
   * Store before publish: the detector's anomalies name sample events that alert looks up by id. Published as
   * envelopes of events per partition where the topic's partition count is known (accessEventMessages).
   */
  private async persistEvents(events: readonly AccessEvent[]): Promise<void> {
    const max = this.config.ingest.batchMaxEvents;
    const topic = this.config.ingest.accessEventsTopic;
    for (let i = 0; i < events.length; i += max) {
      const chunk = events.length <= max ? events : events.slice(i, i + max);
      await this.store.accessEvents.insert(chunk as AccessEvent[]);
      const partitions = this.partitions ? await this.partitions.partitionCount(topic) : null;
      await this.bus.publish(topic, accessEventMessages(chunk, partitions));
    }
  }

  private async persistDeadLetters(deadLetters: DeadLetter[]): Promise<void> {
    if (!deadLetters.length) return;
    await this.store.deadLetters.insert(deadLetters);
    await this.bus.publish(
      this.config.ingest.dlqTopic,
      deadLetters.map((d) => ({ key: d.tenant, value: JSON.stringify(d), headers: { reason: d.reason.split(':')[0] ?? 'unknown' } })),
    );
  }

  async execute(records: readonly RawRecord[], options: IngestOptions): Promise<ParsedBatch> {
    const batch = this.parse(records, options);
    await this.persist(batch);
    return batch;
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** Dead letters are idempotent too: the id is a hash of where the record came from and what it was. */
export function deadLetter(tenant: string, receivedAt: number, source: string, reason: string, raw: string): DeadLetter {
  const id = createHash('sha256').update(source).update('\0').update(raw).digest('hex').slice(0, 32);
  return { v: 1, id, tenant, receivedAt, source, reason, raw: raw.length > MAX_DEAD_LETTER_RAW ? raw.slice(0, MAX_DEAD_LETTER_RAW) : raw };
}
