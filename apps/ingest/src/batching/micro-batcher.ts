/**
 * Collects groups of items from concurrent callers into one batch, flushed when it holds `maxItems` items or when
 * its oldest group has waited `maxWaitMs`. A batch holds at most `maxItems` items unless one group alone holds more. Each caller's promise settles with its own group's result (or the
 * flush's error). `pending()` counts items accepted but not yet flushed, for backpressure.
 */
export interface MicroBatcherOptions<I, O> {
  maxItems: number;
  maxWaitMs: number;
  flush: (groups: I[][]) => Promise<O[]>;
  /** How much one item counts towards maxItems and pending() (default 1). */
  weigh?: (item: I) => number;
  /**
   * Flushes allowed to run at once (default 1: one after another, so batches reach the store in arrival order).
   * Flushes still start in arrival order; raise it only when batches need no order between them.
   */
  concurrency?: number;
}

interface Waiting<I, O> {
  items: I[];
  weight: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private queued = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly limit: number;
  private running = 0;
  /** Flushes waiting for a free slot, first come first served. */
  private readonly slots: (() => void)[] = [];
  private readonly flushes = new Set<Promise<void>>();

  constructor(private readonly opts: MicroBatcherOptions<I, O>) {
    this.limit = Math.max(1, Math.floor(opts.concurrency ?? 1));
  }

  pending(): number {
    return this.queued + this.inFlight;
  }

  add(items: I[]): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const weigh = this.opts.weigh;
      const weight = weigh ? items.reduce((sum, item) => sum + weigh(item), 0) : items.length;
      // a group that would take the batch past maxItems goes into the next one (a group is never split)
      if (this.queue.length > 0 && this.queued + weight > this.opts.maxItems) this.flushNow();
      this.queue.push({ items, weight, resolve, reject });
      this.queued += weight;
      if (this.queued >= this.opts.maxItems) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.opts.maxWaitMs);
    });
  }

  /** Flush what is queued and wait for every flush in progress. */
  async drain(): Promise<void> {
    this.flushNow();
    while (this.flushes.size) await Promise.all([...this.flushes]);
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    const size = this.queued;
    this.queue = [];
    this.queued = 0;
    this.inFlight += size;
    const done = this.acquire().then(async () => {
      try {
        const results = await this.opts.flush(batch.map((w) => w.items));
        batch.forEach((w, i) => w.resolve(results[i] as O));
      } catch (err) {
        for (const w of batch) w.reject(err);
      } finally {
        this.inFlight -= size;
        this.release();
      }
    });
    this.flushes.add(done);
    void done.then(() => this.flushes.delete(done));
  }

  private acquire(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.slots.push(resolve));
  }

  /** Hands the slot to the next waiting flush, if any. */
  private release(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.running--;
  }
}
