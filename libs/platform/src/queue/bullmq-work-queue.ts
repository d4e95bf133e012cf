import { Queue, UnrecoverableError, Worker, type Job as BullJob, type JobsOptions } from 'bullmq';
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
import type { WorkQueueLogger } from './work-queue-logger.js';

export interface BullMqWorkQueueOptions {
  redisUrl: string;
  /** Queue name; every instance with the same prefix and name shares the jobs. */
  name: string;
  retry: RetryPolicy;
  /** Redis key prefix (default `vigil`). */
  prefix?: string;
  /** Completed jobs kept (and so still deduplicated on re-enqueue), newest first. Default 1000. */
  keepCompleted?: number;
  logger?: WorkQueueLogger;
}

/** Job name in BullMQ is the caller's id, verbatim; the BullMQ job id is an encoded form of it. */
const JOB_ID_PREFIX = 'v.';
const BACKOFF_TYPE = 'vigil';
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * BullMQ rejects integer-looking ids and ids containing ':'; ids arrive from the domain (e.g. `incident:webhook`)
 * so they are encoded reversibly. The prefix keeps every encoded id non-numeric.
 */
export function toBullJobId(id: string): string {
  return JOB_ID_PREFIX + encodeURIComponent(id);
}

export function fromBullJobId(jobId: string): string {
  return decodeURIComponent(jobId.startsWith(JOB_ID_PREFIX) ? jobId.slice(JOB_ID_PREFIX.length) : jobId);
}

/** Thrown from the processor for a retryable failure so the backoff strategy can honour `retryAfterMs`. */
class RetryableJobError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'RetryableJobError';
  }
}

/**
 * Work queue on Redis through BullMQ 6.
 * - enqueue = `addBulk` with `jobId`; BullMQ ignores an id whose job hash still exists
 *   (waiting, delayed, active, dead, or completed while retained).
 * - retries: `attempts = maxAttempts`, a custom backoff that returns `retryAfterMs` when the handler gave one,
 *   else `backoffDelay` (exponential, full jitter).
 * - non-retryable failures throw `UnrecoverableError`, which BullMQ moves straight to the failed set.
 * - dead letters are BullMQ's failed set (`removeOnFail: false`); replay = `job.retry` with attempts reset.
 */
export class BullMqWorkQueue<T> implements WorkQueue<T> {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private closing: Promise<void> | null = null;
  private readonly prefix: string;
  private readonly keepCompleted: number;

  constructor(private readonly opts: BullMqWorkQueueOptions) {
    this.prefix = opts.prefix ?? 'vigil';
    this.keepCompleted = opts.keepCompleted ?? 1000;
    this.queue = new Queue(opts.name, {
      connection: { url: opts.redisUrl },
      prefix: this.prefix,
    });
    this.queue.on('error', (err: Error) => this.opts.logger?.error({ err, queue: opts.name }, 'work queue redis error'));
  }

  async enqueue(jobs: JobInput<T>[]): Promise<void> {
    this.assertOpen();
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((job) => ({
        name: job.id,
        data: job.data,
        opts: this.jobOptions(job),
      })),
    );
  }

  async start(handler: JobHandler<T>, concurrency: number): Promise<void> {
    this.assertOpen();
    if (this.worker) throw new Error(`work queue ${this.opts.name} already started`);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    const worker = new Worker(
      this.opts.name,
      async (job: BullJob) => this.process(job, handler),
      {
        connection: { url: this.opts.redisUrl, maxRetriesPerRequest: null },
        prefix: this.prefix,
        concurrency,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => {
            if (err instanceof RetryableJobError && err.retryAfterMs !== undefined) return Math.max(1, Math.ceil(err.retryAfterMs));
            return backoffDelay(this.opts.retry, attemptsMade);
          },
        },
      },
    );
    worker.on('error', (err: Error) => this.opts.logger?.error({ err, queue: this.opts.name }, 'work queue worker error'));
    this.worker = worker;
    await worker.waitUntilReady();
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'failed', 'completed');
    const n = (k: string) => c[k] ?? 0;
    return {
      waiting: n('waiting') + n('prioritized') + n('waiting-children'),
      delayed: n('delayed'),
      active: n('active'),
      dead: n('failed'),
      completed: n('completed'),
    };
  }

  async deadLetters(limit = 100): Promise<DeadJob<T>[]> {
    if (limit <= 0) return [];
    const jobs = await this.queue.getFailed(0, limit - 1);
    return jobs
      .filter((j): j is BullJob & { id: string } => typeof j?.id === 'string')
      .map((j) => ({
        id: fromBullJobId(j.id),
        data: j.data as T,
        attempts: j.attemptsMade,
        error: j.failedReason ?? '',
        failedAt: j.finishedOn ?? j.timestamp,
      }));
  }

  async replay(id: string): Promise<boolean> {
    this.assertOpen();
    const job = await this.queue.getJob(toBullJobId(id));
    if (!job) return false;
    if ((await job.getState()) !== 'failed') return false;
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  }

  async health(): Promise<DependencyHealth> {
    const name = `bullmq:${this.opts.name}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from redis within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      });
      const counts = await Promise.race([this.counts(), timeout]);
      return { name, ok: true, detail: `dead=${counts.dead} waiting=${counts.waiting} delayed=${counts.delayed}` };
    } catch (err) {
      return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops taking jobs, waits for active ones to finish, then closes both Redis connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.worker?.close();
      } finally {
        await this.queue.close();
      }
    })();
    return this.closing;
  }

  private jobOptions(job: JobInput<T>): JobsOptions {
    return {
      jobId: toBullJobId(job.id),
      delay: job.delayMs && job.delayMs > 0 ? Math.ceil(job.delayMs) : undefined,
      attempts: this.opts.retry.maxAttempts,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: { count: this.keepCompleted },
      removeOnFail: false,
    };
  }

  private async process(job: BullJob, handler: JobHandler<T>): Promise<void> {
    const attempt = job.attemptsMade + 1;
    let outcome: JobOutcome;
    try {
      outcome = await handler({ id: job.name, data: job.data as T, attempt });
    } catch (err) {
      // A handler that throws is a bug or an unexpected I/O error: retry it like any transient failure.
      outcome = { ok: false, retryable: true, error: err instanceof Error ? err.message : String(err) };
    }
    if (outcome.ok) return;
    if (!outcome.retryable) throw new UnrecoverableError(outcome.error);
    throw new RetryableJobError(outcome.error, outcome.retryAfterMs);
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`work queue ${this.opts.name} is closed`);
  }
}
