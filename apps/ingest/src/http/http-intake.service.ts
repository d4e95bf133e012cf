import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { LogFormat } from '@vigil/contracts';
import { MetricsService, VIGIL_CONFIG, type VigilConfig } from '@vigil/platform';
import type { Counter } from 'prom-client';
import { MicroBatcher } from '../batching/micro-batcher.js';
import { IngestRecords, type RawRecord, type RecordError } from '../usecases/ingest-records/ingest-records.usecase.js';

export interface IntakeResult {
  accepted: number;
  rejected: number;
  errors: RecordError[];
}

export class SaturatedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('ingest pipeline is saturated; retry later');
  }
}

interface Group {
  tenant: string;
  format: LogFormat | 'auto' | undefined;
  records: RawRecord[];
}

/**
 * HTTP intake: requests are batched together (bounded by size and time) before one store insert and one publish.
 * When more than VIGIL_INGEST_MAX_PENDING_EVENTS records are waiting, new requests are refused with 429 rather
 * than queued without limit.
 */
@Injectable()
export class HttpIntake implements OnModuleDestroy {
  private readonly batcher: MicroBatcher<Group, IntakeResult>;
  private readonly shed: Counter<string>;

  constructor(
    private readonly ingest: IngestRecords,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    metrics: MetricsService,
  ) {
    this.shed = metrics.counter({ name: 'vigil_ingest_http_shed_total', help: 'HTTP ingest requests refused with 429 (saturated)' });
    this.batcher = new MicroBatcher<Group, IntakeResult>({
      maxItems: config.ingest.batchMaxEvents,
      maxWaitMs: config.ingest.batchMaxWaitMs,
      flush: (groups) => this.flush(groups),
      weigh: (group) => group.records.length,
    });
  }

  async submit(records: RawRecord[], tenant: string, format: LogFormat | 'auto' | undefined): Promise<IntakeResult> {
    if (this.batcher.pending() + records.length > this.config.ingest.maxPendingEvents) {
      this.shed.inc();
      throw new SaturatedError(1);
    }
    return this.batcher.add([{ tenant, format, records }]);
  }

  async onModuleDestroy(): Promise<void> {
    await this.batcher.drain();
  }

  private async flush(groups: Group[][]): Promise<IntakeResult[]> {
    const flat = groups.map((g) => g[0] as Group);
    const parsed = flat.map((g) => this.ingest.parse(g.records, { tenant: g.tenant, ...(g.format ? { format: g.format } : {}) }));
    await this.ingest.persist({
      events: parsed.flatMap((p) => p.events),
      deadLetters: parsed.flatMap((p) => p.deadLetters),
      errors: [],
    });
    return parsed.map((p) => ({ accepted: p.events.length, rejected: p.errors.length, errors: p.errors }));
  }
}
