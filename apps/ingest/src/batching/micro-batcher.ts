/**
 * Collects groups of items from concurrent callers into one batch, flushed when it holds `maxItems` items or when
 * its oldest group has waited `maxWaitMs`. Each caller's promise settles with its own group's result (or the
 * flush's error). `pending()` counts items accepted but not yet flushed, for backpressure.
 */
export interface MicroBatcherOptions<I, O> {
  maxItems: number;
  maxWaitMs: number;
  flush: (groups: I[][]) => Promise<O[]>;
  /** How much one item counts towards maxItems and pending() (default 1). */
  weigh?: (item: I) => number;
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
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MicroBatcherOptions<I, O>) {}

  pending(): number {
    return this.queued + this.inFlight;
  }

  add(items: I[]): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const weigh = this.opts.weigh;
      const weight = weigh ? items.reduce((sum, item) => sum + weigh(item), 0) : items.length;
      this.queue.push({ items, weight, resolve, reject });
      this.queued += weight;
      if (this.queued >= this.opts.maxItems) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.opts.maxWaitMs);
    });
  }

  /** Flush what is queued and wait for every flush in progress. */
  async drain(): Promise<void> {
    this.flushNow();
    await this.flushing;
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
    // Flushes run one after another, so batches reach the store in arrival order.
    this.flushing = this.flushing.then(async () => {
      try {
        const results = await this.opts.flush(batch.map((w) => w.items));
        batch.forEach((w, i) => w.resolve(results[i] as O));
      } catch (err) {
        for (const w of batch) w.reject(err);
      } finally {
        this.inFlight -= size;
      }
    });
  }
}
