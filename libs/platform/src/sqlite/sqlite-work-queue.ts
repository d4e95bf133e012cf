import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock/clock.js';
import type { DependencyHealth } from '../ports/event-bus.js';
import {
  backoffDelay,
  type DeadJob,
  type JobHandler,
  type JobInput,
  type JobOutcome,
  type QueueCounts,
  type RetryPolicy,
  type WorkQueue,
} from '../ports/work-queue.js';
import type { WorkQueueLogger } from '../queue/work-queue-logger.js';

export interface SqliteWorkQueueOptions {
  /** Database file; may be the store's file (this adapter only touches `work_jobs`). */
  path: string;
  /** Queue name; rows are keyed by (queue, id). */
  name: string;
  retry: RetryPolicy;
  /** Decides run_at (delays, backoff) and due-ness. Default: system clock. */
  clock?: Clock;
  /** How often the processor looks for due jobs (ms, default 50). In-process enqueues wake it at once. */
  pollIntervalMs?: number;
  /** Completed jobs kept (and so still deduplicated on re-enqueue), newest first. Default 1000. */
  keepCompleted?: number;
  logger?: WorkQueueLogger;
}

type JobState = 'waiting' | 'active' | 'completed' | 'dead';

interface InsertRow {
  queue: string;
  id: string;
  data: string;
  runAt: number;
  now: number;
}

interface ClaimedRow {
  id: string;
  data: string;
  attempt: number;
}

interface DeadRow {
  id: string;
  data: string;
  attempt: number;
  last_error: string | null;
  updated_at: number;
}

interface CountsRow {
  waiting: number;
  delayed: number;
  active: number;
  dead: number;
  completed: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS work_jobs (
    queue      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('waiting', 'active', 'completed', 'dead')),
    attempt    INTEGER NOT NULL DEFAULT 0,
    run_at     INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (queue, id)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS work_jobs_due ON work_jobs (queue, state, run_at);
`;

const INTERRUPTED = 'interrupted: the process stopped during this attempt';
/** Completed-job pruning runs once per this many completions. */
const PRUNE_EVERY = 100;

/**
 * Work queue kept in SQLite (standalone mode). One row per job in `work_jobs`:
 * `attempt` counts attempts started, `run_at` is when a waiting job becomes due (a waiting job with
 * run_at in the future is "delayed"), `last_error` is the latest failure.
 *
 * Throughput: the outcomes of the attempts that finished since the last turn of the event loop and the next claim
 * (as many due jobs as there are free slots) are written in one IMMEDIATE transaction, and the connection runs
 * WAL with synchronous=NORMAL, so a burst of deliveries costs one commit per loop turn, not two per job; likewise
 * the enqueues of one loop turn share one transaction (each caller's promise resolves when it is committed). Reads
 * (counts, dead letters, replay) and close write the pending outcomes first. A crash between a handler's return
 * and that commit (one loop turn) re-runs the job on restart, as a crash during the handler always did.
 *
 * One process processes a given queue name at a time (standalone is a single process): on `start`, rows
 * left `active` by a crashed process are re-queued (the interrupted attempt counts; if it was the last
 * allowed one, the job is dead-lettered).
 */
export class SqliteWorkQueue<T> implements WorkQueue<T> {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly keepCompleted: number;
  private readonly stmt: ReturnType<SqliteWorkQueue<T>['prepare']>;
  private readonly tx: {
    claim: Database.Transaction<() => ClaimedRow[]>;
    outcomes: Database.Transaction<() => void>;
    insert: Database.Transaction<(rows: InsertRow[]) => void>;
  };
  /** Jobs enqueued during this turn of the event loop, committed together on the next. */
  private enqueueBatch: { rows: InsertRow[]; done: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null = null;
  private handler: JobHandler<T> | null = null;
  private concurrency = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private woken = false;
  /** Outcomes of finished attempts not yet written; written together with the next claim, in one transaction. */
  private pending: { row: ClaimedRow; outcome: JobOutcome }[] = [];
  private stopped = false;
  private closing: Promise<void> | null = null;
  private completedSincePrune = 0;

  constructor(private readonly opts: SqliteWorkQueueOptions) {
    this.clock = opts.clock ?? systemClock;
    this.pollIntervalMs = opts.pollIntervalMs ?? 50;
    this.keepCompleted = opts.keepCompleted ?? 1000;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      // WAL + NORMAL: a commit survives the process crashing (what the queue promises); only an OS crash or power
      // loss may drop the last commits. FULL would fsync every claim and outcome (one per delivery).
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
      this.stmt = this.prepare();
      this.tx = {
        claim: this.db.transaction((): ClaimedRow[] => {
          this.writeOutcomes();
          const free = this.concurrency - this.inFlight.size;
          return free > 0 ? this.stmt.claim.all({ queue: this.opts.name, now: this.clock.now(), limit: free }) : [];
        }),
        outcomes: this.db.transaction((): void => this.writeOutcomes()),
        insert: this.db.transaction((rows: InsertRow[]): void => {
          for (const row of rows) this.stmt.insert.run(row);
        }),
      };
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare<InsertRow>(
        `INSERT OR IGNORE INTO work_jobs (queue, id, data, state, attempt, run_at, created_at, updated_at)
         VALUES (@queue, @id, @data, 'waiting', 0, @runAt, @now, @now)`,
      ),
      claim: db.prepare<{ queue: string; now: number; limit: number }, ClaimedRow>(
        `UPDATE work_jobs SET state = 'active', attempt = attempt + 1, updated_at = @now
         WHERE rowid IN (
           SELECT rowid FROM work_jobs
           WHERE queue = @queue AND state = 'waiting' AND run_at <= @now
           ORDER BY run_at, rowid
           LIMIT @limit
         )
         RETURNING id, data, attempt`,
      ),
      finish: db.prepare<{ queue: string; id: string; state: JobState; runAt: number; error: string | null; now: number }>(
        `UPDATE work_jobs SET state = @state, run_at = @runAt, last_error = @error, updated_at = @now
         WHERE queue = @queue AND id = @id AND state = 'active'`,
      ),
      recover: db.prepare<{ queue: string; maxAttempts: number; error: string; now: number }>(
        `UPDATE work_jobs
         SET state = CASE WHEN attempt >= @maxAttempts THEN 'dead' ELSE 'waiting' END,
             last_error = @error, run_at = @now, updated_at = @now
         WHERE queue = @queue AND state = 'active'`,
      ),
      counts: db.prepare<{ queue: string; now: number }, CountsRow>(
        `SELECT
           COALESCE(SUM(state = 'waiting' AND run_at <= @now), 0) AS waiting,
           COALESCE(SUM(state = 'waiting' AND run_at > @now), 0)  AS delayed,
           COALESCE(SUM(state = 'active'), 0)                     AS active,
           COALESCE(SUM(state = 'dead'), 0)                       AS dead,
           COALESCE(SUM(state = 'completed'), 0)                  AS completed
         FROM work_jobs WHERE queue = @queue`,
      ),
      dead: db.prepare<{ queue: string; limit: number }, DeadRow>(
        `SELECT id, data, attempt, last_error, updated_at FROM work_jobs
         WHERE queue = @queue AND state = 'dead'
         ORDER BY updated_at DESC, rowid DESC
         LIMIT @limit`,
      ),
      replay: db.prepare<{ queue: string; id: string; now: number }>(
        `UPDATE work_jobs SET state = 'waiting', attempt = 0, run_at = @now, last_error = NULL, updated_at = @now
         WHERE queue = @queue AND id = @id AND state = 'dead'`,
      ),
      prune: db.prepare<{ queue: string; keep: number }>(
        `DELETE FROM work_jobs
         WHERE queue = @queue AND state = 'completed' AND rowid NOT IN (
           SELECT rowid FROM work_jobs WHERE queue = @queue AND state = 'completed'
           ORDER BY updated_at DESC, rowid DESC
           LIMIT @keep
         )`,
      ),
    };
  }

  /**
   * Resolves once the jobs are committed. Enqueues made in the same turn of the event loop (a burst of dispatches)
   * share one transaction; if it fails, every one of them is rejected and none is stored.
   */
  async enqueue(jobs: JobInput<T>[]): Promise<void> {
    this.assertOpen();
    if (jobs.length === 0) return;
    const now = this.clock.now();
    let batch = this.enqueueBatch;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { rows: [], done, resolve, reject };
      this.enqueueBatch = batch;
      setImmediate(() => this.flushEnqueues());
    }
    for (const job of jobs) {
      batch.rows.push({
        queue: this.opts.name,
        id: job.id,
        data: JSON.stringify(job.data ?? null),
        runAt: now + Math.max(0, Math.ceil(job.delayMs ?? 0)),
        now,
      });
    }
    return batch.done;
  }

  private flushEnqueues(): void {
    const batch = this.enqueueBatch;
    if (!batch) return;
    this.enqueueBatch = null;
    try {
      this.tx.insert(batch.rows);
    } catch (err) {
      batch.reject(err);
      return;
    }
    batch.resolve();
    this.wake();
  }

  async start(handler: JobHandler<T>, concurrency: number): Promise<void> {
    this.assertOpen();
    if (this.handler) throw new Error(`work queue ${this.opts.name} already started`);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    const recovered = this.stmt.recover.run({
      queue: this.opts.name,
      maxAttempts: this.opts.retry.maxAttempts,
      error: INTERRUPTED,
      now: this.clock.now(),
    }).changes;
    if (recovered > 0) this.opts.logger?.warn({ queue: this.opts.name, recovered }, 'work queue re-queued jobs interrupted by a previous process');
    this.handler = handler;
    this.concurrency = concurrency;
    this.wake();
  }

  async counts(): Promise<QueueCounts> {
    this.assertOpen();
    this.flushEnqueues();
    this.flushOutcomes();
    const row = this.stmt.counts.get({ queue: this.opts.name, now: this.clock.now() });
    return row ?? { waiting: 0, delayed: 0, active: 0, dead: 0, completed: 0 };
  }

  async deadLetters(limit = 100): Promise<DeadJob<T>[]> {
    this.assertOpen();
    if (limit <= 0) return [];
    this.flushEnqueues();
    this.flushOutcomes();
    return this.stmt.dead.all({ queue: this.opts.name, limit }).map((r) => ({
      id: r.id,
      data: JSON.parse(r.data) as T,
      attempts: r.attempt,
      error: r.last_error ?? '',
      failedAt: r.updated_at,
    }));
  }

  async replay(id: string): Promise<boolean> {
    this.assertOpen();
    this.flushEnqueues();
    this.flushOutcomes();
    const changed = this.stmt.replay.run({ queue: this.opts.name, id, now: this.clock.now() }).changes > 0;
    if (changed) this.wake();
    return changed;
  }

  async health(): Promise<DependencyHealth> {
    const name = `sqlite-queue:${this.opts.name}`;
    if (this.stopped) return { name, ok: false, detail: 'closed' };
    try {
      const c = await this.counts();
      return { name, ok: true, detail: `dead=${c.dead} waiting=${c.waiting} delayed=${c.delayed}` };
    } catch (err) {
      return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Stops claiming jobs, waits for in-flight ones to finish and be recorded, then closes the database. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      // Enqueues already accepted are committed (and their promises settled) before the queue stops.
      this.flushEnqueues();
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.closing = (async () => {
        while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
        this.flushOutcomes();
        this.db.close();
      })();
    }
    return this.closing;
  }

  /**
   * Run `pump` on the next turn of the event loop (once, however many jobs finished or were enqueued meanwhile),
   * so the outcomes of a burst of completions and the next claim share one transaction.
   */
  private wake(): void {
    if (this.woken || this.stopped || !this.handler) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.pump();
    });
  }

  private schedule(ms: number): void {
    if (this.stopped || !this.handler) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  /** Record the finished attempts, claim as many due jobs as there are free slots (one transaction), start them, and poll again later. */
  private pump(): void {
    const handler = this.handler;
    if (this.stopped || !handler) return;
    let claimed: ClaimedRow[] = [];
    try {
      claimed = this.claimTx();
    } catch (err) {
      this.opts.logger?.error({ err, queue: this.opts.name }, 'work queue could not claim jobs');
    }
    for (const row of claimed) this.run(row, handler);
    this.schedule(this.pollIntervalMs);
  }

  private claimTx(): ClaimedRow[] {
    return this.tx.claim.immediate();
  }

  /** Writes the pending outcomes now (before a read, and on close). */
  private flushOutcomes(): void {
    if (this.pending.length === 0) return;
    try {
      this.tx.outcomes.immediate();
    } catch (err) {
      this.opts.logger?.error({ err, queue: this.opts.name }, 'work queue could not record job outcomes');
    }
  }

  private writeOutcomes(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      for (const { row, outcome } of batch) this.finish(row, outcome);
    } catch (err) {
      // The transaction rolls back: keep every outcome of the batch for the next try.
      this.pending = batch.concat(this.pending);
      throw err;
    }
  }

  private run(row: ClaimedRow, handler: JobHandler<T>): void {
    const task: Promise<void> = this.attempt(row, handler)
      .catch((err: unknown) => this.opts.logger?.error({ err, queue: this.opts.name, id: row.id }, 'work queue job failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(task);
        this.wake();
      });
    this.inFlight.add(task);
  }

  private async attempt(row: ClaimedRow, handler: JobHandler<T>): Promise<void> {
    let outcome: JobOutcome;
    let data: T;
    try {
      data = JSON.parse(row.data) as T;
    } catch (err) {
      this.pending.push({ row, outcome: { ok: false, retryable: false, error: `unreadable job data: ${err instanceof Error ? err.message : String(err)}` } });
      return;
    }
    try {
      outcome = await handler({ id: row.id, data, attempt: row.attempt });
    } catch (err) {
      // A handler that throws is a bug or an unexpected I/O error: retry it like any transient failure.
      outcome = { ok: false, retryable: true, error: err instanceof Error ? err.message : String(err) };
    }
    this.pending.push({ row, outcome });
  }

  private finish(row: ClaimedRow, outcome: JobOutcome): void {
    const now = this.clock.now();
    const base = { queue: this.opts.name, id: row.id, now };
    if (outcome.ok) {
      this.stmt.finish.run({ ...base, state: 'completed', runAt: now, error: null });
      this.completedSincePrune += 1;
      if (this.completedSincePrune >= PRUNE_EVERY) {
        this.completedSincePrune = 0;
        this.stmt.prune.run({ queue: this.opts.name, keep: this.keepCompleted });
      }
      return;
    }
    if (!outcome.retryable || row.attempt >= this.opts.retry.maxAttempts) {
      this.stmt.finish.run({ ...base, state: 'dead', runAt: now, error: outcome.error });
      return;
    }
    const delay = outcome.retryAfterMs !== undefined ? Math.max(0, Math.ceil(outcome.retryAfterMs)) : backoffDelay(this.opts.retry, row.attempt);
    this.stmt.finish.run({ ...base, state: 'waiting', runAt: now + delay, error: outcome.error });
  }

  private assertOpen(): void {
    if (this.stopped) throw new Error(`work queue ${this.opts.name} is closed`);
  }
}
