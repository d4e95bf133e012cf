import type { Clock, OutboxEntry, OutboxRepository } from '@vigil/platform';
import type { Logger } from 'pino';

/** When held done marks are written. */
export interface OutboxSettlerOptions {
  /** A done mark waits at most this long (wall clock) for others to share its write. */
  lingerMs: number;
  /** Marks held at most; past it the oldest are let go (they stay pending in the store, and the outbox relay sends them again under their own event ids). */
  maxHeld: number;
}

export const OUTBOX_SETTLER_OPTIONS = Symbol('OUTBOX_SETTLER_OPTIONS');
export const DEFAULT_OUTBOX_SETTLER_OPTIONS: OutboxSettlerOptions = { lingerMs: 1_000, maxHeld: 20_000 };

/**
 * Outbox done marks, written together: one `markDone` per `lingerMs` for all the batches that finished meanwhile,
 * instead of one per batch. On ClickHouse every insert is a new part (a file per column, then merges), so a write per
 * anomaly batch costs the server more CPU than the batch's own work; the marks are the one write whose delay is safe.
 * A held entry was sent already: the process that holds it leaves it out of the pending entries it reads (`holds`),
 * so its next batch of the same entity does not send it again. Should the process die first, the entry is still
 * pending in the store and the outbox relay sends it again later, under the same event id (at-least-once, as before).
 * A failed write keeps the marks for the next one.
 */
export class OutboxSettler {
  private held = new Map<string, OutboxEntry>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly outbox: Pick<OutboxRepository, 'markDone'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OutboxSettlerOptions = DEFAULT_OUTBOX_SETTLER_OPTIONS,
  ) {}

  /** Mark these entries done with the next write (within `lingerMs`; at once once closed). */
  settle(entries: readonly OutboxEntry[]): void {
    if (!entries.length) return;
    for (const e of entries) {
      this.held.delete(e.id);
      this.held.set(e.id, e);
    }
    if (this.held.size > this.options.maxHeld) {
      let over = this.held.size - this.options.maxHeld;
      for (const id of this.held.keys()) {
        if (over-- <= 0) break;
        this.held.delete(id);
      }
      this.log.warn({ held: this.held.size }, 'outbox done marks are not being written; the oldest are let go (the relay sends them again)');
    }
    if (this.closed) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.lingerMs).unref();
  }

  /** Whether this process has sent the entry and holds its done mark (a pending read should leave it out). */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  /** Number of marks held right now. */
  get size(): number {
    return this.held.size;
  }

  /** Write every held mark now (after any write under way). Never throws: a failed write keeps the marks and retries after `lingerMs`. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  /** Write what is held; from now on every mark is written at once. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (!this.held.size) return;
    const batch = [...this.held.values()];
    try {
      await this.outbox.markDone(batch, this.clock.now());
      for (const e of batch) if (this.held.get(e.id) === e) this.held.delete(e.id);
    } catch (err) {
      this.log.warn({ err, marks: batch.length }, 'writing outbox done marks failed; retrying');
      if (!this.closed) this.timer ??= setTimeout(() => void this.flush(), this.options.lingerMs).unref();
    }
  }
}
