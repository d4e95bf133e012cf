import type { WebhookDelivery } from '@vigil/platform';

/** The timer functions the writer uses (injected so a spec drives time by hand). */
export interface WriterTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const systemTimers: WriterTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DeliveryLogWriterOptions {
  /** Writes one batch in one store write (`WebhookRepository.recordDeliveries`). */
  write: (rows: readonly WebhookDelivery[]) => Promise<void>;
  /** A batch is written as soon as it holds this many rows. Default 200. */
  maxRows?: number;
  /** ... or this long after its first row was recorded. Default 25 ms. */
  maxDelayMs?: number;
  timers?: WriterTimers;
}

interface Waiting {
  row: WebhookDelivery;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The webhook delivery log, written in batches: `record(row)` resolves once the batch holding the row is written
 * (so a job's outcome still follows its log row) and rejects with the write's error if that batch failed (every
 * caller of a failed batch is rejected). A batch is written at `maxRows` rows or `maxDelayMs` after its first row,
 * one write in flight at a time; rows recorded meanwhile go into the next batch, written as soon as the one in
 * flight ends if it is full or already due. `flush()` writes everything pending now (on shutdown).
 */
export class DeliveryLogWriter {
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly timers: WriterTimers;
  private pending: Waiting[] = [];
  private timer: unknown = undefined;
  /** The timer fired while a write was in flight: the next batch is written as soon as that write ends. */
  private due = false;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly o: DeliveryLogWriterOptions) {
    this.maxRows = o.maxRows ?? 200;
    this.maxDelayMs = o.maxDelayMs ?? 25;
    this.timers = o.timers ?? systemTimers;
  }

  record(row: WebhookDelivery): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      if (this.pending.length >= this.maxRows) this.writeNext();
      else if (this.timer === undefined && !this.due) this.timer = this.timers.set(this.onTimer, this.maxDelayMs);
    });
  }

  /** Writes every pending row now and waits for it (a failed batch rejects its callers, not this). */
  async flush(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) {
      if (!this.inFlight) this.writeNext();
      await this.inFlight?.catch(() => undefined);
    }
  }

  /** Rows waiting for a write (not counting the batch in flight). */
  get pendingRows(): number {
    return this.pending.length;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.due = true;
    this.writeNext();
  };

  private writeNext(): void {
    if (this.inFlight || this.pending.length === 0) return;
    if (this.timer !== undefined) {
      this.timers.clear(this.timer);
      this.timer = undefined;
    }
    this.due = false;
    const batch = this.pending.splice(0, this.maxRows);
    const rows = batch.map((w) => w.row);
    this.inFlight = Promise.resolve()
      .then(() => this.o.write(rows))
      .then(
        () => {
          for (const w of batch) w.resolve();
        },
        (err: unknown) => {
          for (const w of batch) w.reject(err);
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.afterWrite();
      });
  }

  private afterWrite(): void {
    if (this.pending.length === 0) return;
    if (this.due || this.pending.length >= this.maxRows) this.writeNext();
    else if (this.timer === undefined) this.timer = this.timers.set(this.onTimer, this.maxDelayMs);
  }
}
