import type { DependencyHealth } from './event-bus.js';

/**
 * Durable work queue port (webhook deliveries). Adapters: BullMQ on Redis (distributed),
 * a queue kept in the SQLite store (standalone). Both honour, per the shared contract suite:
 * - enqueue is idempotent by job id;
 * - a job survives a process restart until it succeeds or is dead-lettered;
 * - a failed attempt is retried with exponential backoff and jitter, or after `retryAfterMs` when given;
 * - after `maxAttempts` (or a non-retryable failure) the job moves to the dead letters, from where it can be replayed.
 */
export interface JobInput<T> {
  id: string;
  data: T;
  /** Do not run before this delay (ms). */
  delayMs?: number;
}

export interface Job<T> {
  id: string;
  data: T;
  /** 1 for the first attempt. */
  attempt: number;
}

export type JobOutcome =
  | { ok: true }
  | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

export type JobHandler<T> = (job: Job<T>) => Promise<JobOutcome>;

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface DeadJob<T> {
  id: string;
  data: T;
  attempts: number;
  error: string;
  failedAt: number;
}

export interface QueueCounts { waiting: number; delayed: number; active: number; dead: number; completed: number }

export interface WorkQueue<T> {
  readonly kind: 'bullmq' | 'sqlite';
  enqueue(jobs: JobInput<T>[]): Promise<void>;
  /** Start processing with the given concurrency. Call once. */
  start(handler: JobHandler<T>, concurrency: number): Promise<void>;
  counts(): Promise<QueueCounts>;
  deadLetters(limit?: number): Promise<DeadJob<T>[]>;
  /** Move a dead job back to waiting with its attempts reset. Returns false if unknown. */
  replay(id: string): Promise<boolean>;
  health(): Promise<DependencyHealth>;
  /** Stop taking jobs, wait for active ones to finish. */
  close(): Promise<void>;
}

/** Exponential backoff with full jitter: random in [0, min(max, base * 2^(attempt-1))], at least base/2. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(Math.floor(policy.baseDelayMs / 2), Math.floor(random() * cap));
}

export const WORK_QUEUE = Symbol('WORK_QUEUE');
