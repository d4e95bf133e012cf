/// <reference types="jest" />
// Jest's globals rather than '@jest/globals', so importing @vigil/testing outside Jest (bench scripts) still works.
import type { Job, JobOutcome, QueueCounts, RetryPolicy, WorkQueue } from '@vigil/platform';
import { uniqueName, waitFor } from '../wait-for.js';

/** Payload the suite enqueues; adapters must hand it back intact. */
export interface ContractPayload {
  n: number;
  label: string;
}

export type MakeWorkQueue = (opts: { name: string; retry: RetryPolicy }) => Promise<WorkQueue<ContractPayload>>;

export interface WorkQueueContractOptions {
  /** Runs once after the suite (drop keys / files the adapter left behind). */
  cleanup?: () => Promise<void>;
}

const RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 200 };
const OK: JobOutcome = { ok: true };
const TEST_TIMEOUT_MS = 30_000;

function payload(n: number): ContractPayload {
  return { n, label: `job-${n}` };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Records every handler call so tests can assert what ran, how often, with which attempt numbers. */
class Recorder {
  readonly calls: Job<ContractPayload>[] = [];
  callsFor(id: string): Job<ContractPayload>[] {
    return this.calls.filter((c) => c.id === id);
  }
  attemptsOf(id: string): number[] {
    return this.callsFor(id).map((c) => c.attempt);
  }
}

/**
 * The behaviour every `WorkQueue` adapter must show (BullMQ on Redis, SQLite). `makeQueue` must return a NEW
 * instance on the same backing store each time it is called with the same name — that is how the suite
 * checks durability across a restart. Each test uses its own queue name.
 */
export function workQueueContract(adapterName: string, makeQueue: MakeWorkQueue, options: WorkQueueContractOptions = {}): void {
  describe(`WorkQueue contract: ${adapterName}`, () => {
    const opened: WorkQueue<ContractPayload>[] = [];
    const open = async (name: string, retry: RetryPolicy = RETRY) => {
      const q = await makeQueue({ name, retry });
      opened.push(q);
      return q;
    };
    const counts = (q: WorkQueue<ContractPayload>) => q.counts();
    const countsEqual = (q: WorkQueue<ContractPayload>, want: Partial<QueueCounts>) => async () => {
      const c = await counts(q);
      return Object.entries(want).every(([k, v]) => c[k as keyof QueueCounts] === v) ? c : null;
    };

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });
    afterAll(async () => {
      await options.cleanup?.();
    });

    describe('processing', () => {
      it(
        'runs each job exactly once with its data when the handler succeeds',
        async () => {
          const q = await open(uniqueName('wq_once'));
          const rec = new Recorder();
          const ids = Array.from({ length: 20 }, (_, i) => `once-${i}`);
          await q.enqueue(ids.map((id, i) => ({ id, data: payload(i) })));
          await q.start(async (job) => {
            rec.calls.push(job);
            return OK;
          }, 4);

          await waitFor(countsEqual(q, { completed: 20 }), { what: '20 completed jobs' });
          expect(rec.calls.map((c) => c.id).sort()).toEqual([...ids].sort());
          expect(rec.callsFor('once-7')).toEqual([{ id: 'once-7', data: payload(7), attempt: 1 }]);
          expect(await counts(q)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0, completed: 20 });
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'runs a job id once even when it is enqueued again before and after it completed',
        async () => {
          const q = await open(uniqueName('wq_dedupe'));
          const rec = new Recorder();
          await q.enqueue([
            { id: 'dup', data: payload(1) },
            { id: 'dup', data: payload(2) },
          ]);
          await q.enqueue([{ id: 'dup', data: payload(3) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            return OK;
          }, 1);
          await waitFor(() => rec.callsFor('dup').length === 1, { what: 'dup processed' });
          await waitFor(countsEqual(q, { completed: 1 }), { what: 'dup completed' });

          // Re-enqueue the completed id, then a sentinel behind it: once the sentinel ran, a re-run of dup would have too.
          await q.enqueue([{ id: 'dup', data: payload(4) }]);
          await q.enqueue([{ id: 'sentinel', data: payload(5) }]);
          await waitFor(() => rec.callsFor('sentinel').length === 1, { what: 'sentinel processed' });

          expect(rec.callsFor('dup')).toEqual([{ id: 'dup', data: payload(1), attempt: 1 }]);
          await waitFor(countsEqual(q, { completed: 2 }), { what: 'sentinel completed' });
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'never runs more than `concurrency` jobs at once, and does use all of them',
        async () => {
          const q = await open(uniqueName('wq_conc'));
          const concurrency = 3;
          let inFlight = 0;
          let maxInFlight = 0;
          const firstWave = deferred();
          await q.enqueue(Array.from({ length: 12 }, (_, i) => ({ id: `c-${i}`, data: payload(i) })));
          await q.start(async () => {
            inFlight += 1;
            maxInFlight = Math.max(maxInFlight, inFlight);
            if (inFlight >= concurrency) firstWave.resolve();
            // The first jobs hold their slot until `concurrency` jobs run together, so the maximum is reached
            // deterministically; a queue that over-admits would push inFlight past it meanwhile.
            await firstWave.promise;
            inFlight -= 1;
            return OK;
          }, concurrency);

          await waitFor(countsEqual(q, { completed: 12 }), { what: '12 completed jobs' });
          expect(maxInFlight).toBe(concurrency);
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe('retries', () => {
      it(
        'retries a retryable failure with backoff until it succeeds, numbering attempts 1..n',
        async () => {
          const q = await open(uniqueName('wq_retry'));
          const rec = new Recorder();
          await q.enqueue([{ id: 'flaky', data: payload(1) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            return job.attempt <= 3 ? { ok: false, retryable: true, error: `HTTP 503 on attempt ${job.attempt}` } : OK;
          }, 1);

          await waitFor(countsEqual(q, { completed: 1 }), { what: 'flaky completed' });
          expect(rec.attemptsOf('flaky')).toEqual([1, 2, 3, 4]);
          expect(rec.callsFor('flaky').every((c) => c.data.label === 'job-1')).toBe(true);
          expect(await counts(q)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0, completed: 1 });
          expect(await q.deadLetters()).toEqual([]);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'retries a handler that throws, as a retryable failure',
        async () => {
          const q = await open(uniqueName('wq_throw'));
          const rec = new Recorder();
          await q.enqueue([{ id: 'thrower', data: payload(1) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            if (job.attempt === 1) throw new Error('socket hang up');
            return OK;
          }, 1);

          await waitFor(countsEqual(q, { completed: 1 }), { what: 'thrower completed' });
          expect(rec.attemptsOf('thrower')).toEqual([1, 2]);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'waits at least retryAfterMs before the next attempt when the handler asks for it',
        async () => {
          const retryAfterMs = 400; // far above what the backoff (base 20 ms) would give for attempt 1
          const q = await open(uniqueName('wq_retry_after'));
          const endedAt: number[] = [];
          const startedAt: number[] = [];
          await q.enqueue([{ id: 'throttled', data: payload(1) }]);
          await q.start(async (job) => {
            startedAt.push(Date.now());
            const outcome: JobOutcome = job.attempt === 1 ? { ok: false, retryable: true, error: 'HTTP 429', retryAfterMs } : OK;
            endedAt.push(Date.now());
            return outcome;
          }, 1);

          await waitFor(countsEqual(q, { completed: 1 }), { what: 'throttled completed' });
          expect(startedAt).toHaveLength(2);
          const gap = (startedAt[1] ?? 0) - (endedAt[0] ?? 0);
          expect(gap).toBeGreaterThanOrEqual(retryAfterMs);
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe('dead letters', () => {
      it(
        'dead-letters a non-retryable failure at once, with its error and data',
        async () => {
          const q = await open(uniqueName('wq_fatal'));
          const rec = new Recorder();
          await q.enqueue([{ id: 'gone', data: payload(9) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            return { ok: false, retryable: false, error: 'HTTP 410 Gone' };
          }, 1);

          await waitFor(countsEqual(q, { dead: 1 }), { what: 'gone dead-lettered' });
          expect(rec.attemptsOf('gone')).toEqual([1]);
          const dead = await q.deadLetters();
          expect(dead).toEqual([{ id: 'gone', data: payload(9), attempts: 1, error: 'HTTP 410 Gone', failedAt: expect.any(Number) }]);
          expect(dead[0]?.failedAt).toBeGreaterThan(0);
          expect(await counts(q)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 1, completed: 0 });
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'dead-letters a job after maxAttempts retryable failures, keeping the last error',
        async () => {
          const retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 };
          const q = await open(uniqueName('wq_exhaust'), retry);
          const rec = new Recorder();
          await q.enqueue([{ id: 'down', data: payload(2) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            return { ok: false, retryable: true, error: `HTTP 503 on attempt ${job.attempt}` };
          }, 1);

          await waitFor(countsEqual(q, { dead: 1 }), { what: 'down dead-lettered' });
          expect(rec.attemptsOf('down')).toEqual([1, 2, 3]);
          const [dead] = await q.deadLetters();
          expect(dead).toMatchObject({ id: 'down', data: payload(2), attempts: 3, error: 'HTTP 503 on attempt 3' });
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'replays a dead job from attempt 1 so it can succeed, and refuses unknown ids',
        async () => {
          const q = await open(uniqueName('wq_replay'));
          const rec = new Recorder();
          let receiverFixed = false;
          await q.enqueue([{ id: 'bad-url', data: payload(3) }]);
          await q.start(async (job) => {
            rec.calls.push(job);
            return receiverFixed ? OK : { ok: false, retryable: false, error: 'HTTP 404' };
          }, 1);
          await waitFor(countsEqual(q, { dead: 1 }), { what: 'bad-url dead-lettered' });

          receiverFixed = true;
          expect(await q.replay('bad-url')).toBe(true);
          await waitFor(countsEqual(q, { completed: 1, dead: 0 }), { what: 'bad-url completed after replay' });

          expect(rec.attemptsOf('bad-url')).toEqual([1, 1]);
          expect(rec.callsFor('bad-url')[1]?.data).toEqual(payload(3));
          expect(await q.deadLetters()).toEqual([]);
          expect(await q.replay('never-enqueued')).toBe(false);
          expect(await q.replay('bad-url')).toBe(false); // completed, not dead
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe('durability and shutdown', () => {
      it(
        'processes jobs enqueued before a restart in a new instance on the same store',
        async () => {
          const name = uniqueName('wq_durable');
          const first = await open(name);
          await first.enqueue([1, 2, 3].map((n) => ({ id: `d-${n}`, data: payload(n) })));
          expect(await counts(first)).toMatchObject({ waiting: 3 });
          await first.close();

          const second = await open(name);
          const rec = new Recorder();
          await second.start(async (job) => {
            rec.calls.push(job);
            return OK;
          }, 2);
          await waitFor(countsEqual(second, { completed: 3 }), { what: '3 jobs completed after restart' });
          expect(rec.calls.map((c) => [c.id, c.data, c.attempt]).sort()).toEqual([
            ['d-1', payload(1), 1],
            ['d-2', payload(2), 1],
            ['d-3', payload(3), 1],
          ]);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'close() waits for the in-flight job to finish, and the job does not run again after a restart',
        async () => {
          const name = uniqueName('wq_drain');
          const first = await open(name);
          const events: string[] = [];
          const started = deferred();
          await first.enqueue([{ id: 'slow', data: payload(1) }]);
          await first.start(async () => {
            events.push('slow started');
            started.resolve();
            // Long enough that a close() which did not wait would visibly resolve first.
            await new Promise((r) => setTimeout(r, 300));
            events.push('slow finished');
            return OK;
          }, 1);
          await started.promise;

          await first.close().then(() => events.push('close resolved'));
          expect(events).toEqual(['slow started', 'slow finished', 'close resolved']);

          const second = await open(name);
          const rec = new Recorder();
          expect(await counts(second)).toEqual({ waiting: 0, delayed: 0, active: 0, dead: 0, completed: 1 });
          await second.start(async (job) => {
            rec.calls.push(job);
            return OK;
          }, 1);
          await second.enqueue([{ id: 'slow', data: payload(2) }, { id: 'after-restart', data: payload(3) }]);
          await waitFor(() => rec.callsFor('after-restart').length === 1, { what: 'sentinel processed after restart' });
          expect(rec.callsFor('slow')).toEqual([]);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'counts() reflects waiting, delayed, active, dead and completed jobs',
        async () => {
          const q = await open(uniqueName('wq_counts'));
          const release = deferred();
          await q.enqueue([
            { id: 'ok', data: payload(1) },
            { id: 'fatal', data: payload(2) },
            { id: 'slow', data: payload(3) },
            { id: 'later', data: payload(4), delayMs: 60_000 },
          ]);
          expect(await counts(q)).toEqual({ waiting: 3, delayed: 1, active: 0, dead: 0, completed: 0 });

          await q.start(async (job) => {
            if (job.id === 'fatal') return { ok: false, retryable: false, error: 'HTTP 400' };
            if (job.id === 'slow') await release.promise;
            return OK;
          }, 3);
          const during = await waitFor(countsEqual(q, { active: 1, dead: 1, completed: 1 }), { what: 'one active, one dead, one done' });
          expect(during).toEqual({ waiting: 0, delayed: 1, active: 1, dead: 1, completed: 1 });

          release.resolve();
          const after = await waitFor(countsEqual(q, { active: 0, completed: 2 }), { what: 'slow completed' });
          expect(after).toEqual({ waiting: 0, delayed: 1, active: 0, dead: 1, completed: 2 });
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'reports itself healthy while open',
        async () => {
          const q = await open(uniqueName('wq_health'));
          expect(await q.health()).toMatchObject({ ok: true });
        },
        TEST_TIMEOUT_MS,
      );
    });
  });
}
