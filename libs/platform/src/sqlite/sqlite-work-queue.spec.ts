import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { uniqueName, waitFor } from '@vigil/testing';
import { ManualClock } from '../clock/clock.js';
import type { Job, JobOutcome, RetryPolicy } from '../ports/work-queue.js';
import { SqliteWorkQueue } from './sqlite-work-queue.js';

interface Payload {
  n: number;
}

const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 60_000 };
const OK: JobOutcome = { ok: true };

describe(SqliteWorkQueue.name, () => {
  let dir: string;
  let path: string;
  const open: SqliteWorkQueue<Payload>[] = [];
  const make = (opts: Partial<ConstructorParameters<typeof SqliteWorkQueue<Payload>>[0]> = {}) => {
    const q = new SqliteWorkQueue<Payload>({ path, name: uniqueName('q'), retry: RETRY, ...opts });
    open.push(q);
    return q;
  };
  const raw = () => new Database(path);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-sqwq-'));
    path = join(dir, 'vigil.sqlite');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('start', () => {
    it('re-queues jobs a crashed process left active, counting the interrupted attempt', async () => {
      const name = uniqueName('crash');
      const before = make({ name });
      await before.enqueue([
        { id: 'mid-way', data: { n: 1 } },
        { id: 'last-try', data: { n: 2 } },
      ]);
      await before.close();
      // What a process killed during attempts leaves behind.
      const db = raw();
      db.prepare(`UPDATE work_jobs SET state = 'active', attempt = 1 WHERE queue = ? AND id = 'mid-way'`).run(name);
      db.prepare(`UPDATE work_jobs SET state = 'active', attempt = ? WHERE queue = ? AND id = 'last-try'`).run(RETRY.maxAttempts, name);
      db.close();

      const after = make({ name });
      expect(await after.counts()).toMatchObject({ active: 2, waiting: 0 });
      const calls: Job<Payload>[] = [];
      await after.start(async (job) => {
        calls.push(job);
        return OK;
      }, 2);

      await waitFor(async () => (await after.counts()).completed === 1, { what: 'mid-way completed' });
      expect(calls).toEqual([{ id: 'mid-way', data: { n: 1 }, attempt: 2 }]);
      expect(await after.deadLetters()).toEqual([
        { id: 'last-try', data: { n: 2 }, attempts: RETRY.maxAttempts, error: 'interrupted: the process stopped during this attempt', failedAt: expect.any(Number) },
      ]);
    });

    it('rejects a second start and a concurrency below 1', async () => {
      const q = make();
      await expect(q.start(async () => OK, 0)).rejects.toThrow(/concurrency/);
      await q.start(async () => OK, 1);
      await expect(q.start(async () => OK, 1)).rejects.toThrow(/already started/);
    });
  });

  describe('scheduling on the injected clock', () => {
    it('holds a delayed job until the clock reaches its run time', async () => {
      const clock = new ManualClock(1_000_000);
      const q = make({ clock, pollIntervalMs: 5 });
      const ran: string[] = [];
      await q.enqueue([{ id: 'later', data: { n: 1 }, delayMs: 5_000 }]);
      await q.start(async (job) => {
        ran.push(job.id);
        return OK;
      }, 1);
      expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 1 });

      // A job enqueued behind it runs first: the delayed one was skipped, not merely slow.
      await q.enqueue([{ id: 'now', data: { n: 2 } }]);
      await waitFor(() => ran.includes('now'), { what: 'immediate job' });
      expect(ran).toEqual(['now']);

      clock.advance(5_000);
      await waitFor(() => ran.includes('later'), { what: 'delayed job once due' });
      expect(ran).toEqual(['now', 'later']);
    });

    it('schedules a retry at now + backoffDelay, within [base/2, base] for the first failure', async () => {
      const clock = new ManualClock(2_000_000);
      const name = uniqueName('backoff');
      const q = make({ name, clock });
      await q.enqueue([{ id: 'flaky', data: { n: 1 } }]);
      await q.start(async () => ({ ok: false, retryable: true, error: 'HTTP 502' }), 1);
      await waitFor(async () => (await q.counts()).delayed === 1, { what: 'retry scheduled' });

      const db = raw();
      const row = db.prepare(`SELECT run_at, attempt, last_error FROM work_jobs WHERE queue = ? AND id = 'flaky'`).get(name) as {
        run_at: number;
        attempt: number;
        last_error: string;
      };
      db.close();
      expect(row.attempt).toBe(1);
      expect(row.last_error).toBe('HTTP 502');
      expect(row.run_at - clock.now()).toBeGreaterThanOrEqual(RETRY.baseDelayMs / 2);
      expect(row.run_at - clock.now()).toBeLessThanOrEqual(RETRY.baseDelayMs);
    });

    it('schedules a retry exactly retryAfterMs ahead when the handler gives one', async () => {
      const clock = new ManualClock(3_000_000);
      const q = make({ clock, pollIntervalMs: 5 });
      const attempts: number[] = [];
      await q.enqueue([{ id: 'throttled', data: { n: 1 } }]);
      await q.start(async (job) => {
        if (job.id !== 'throttled') return OK;
        attempts.push(job.attempt);
        return job.attempt === 1 ? { ok: false, retryable: true, error: 'HTTP 429', retryAfterMs: 30_000 } : OK;
      }, 1);
      await waitFor(async () => (await q.counts()).delayed === 1, { what: 'retry scheduled' });

      clock.advance(29_999);
      await q.enqueue([{ id: 'barrier', data: { n: 2 } }]);
      await waitFor(async () => (await q.counts()).completed === 1, { what: 'barrier job' });
      expect(attempts).toEqual([1]);

      clock.advance(1);
      await waitFor(async () => (await q.counts()).completed === 2, { what: 'throttled job retried' });
      expect(attempts).toEqual([1, 2]);
    });
  });

  describe('shared database file', () => {
    it('uses WAL mode and leaves other tables in the file alone', async () => {
      const db = raw();
      db.exec(`CREATE TABLE incidents (id TEXT PRIMARY KEY, title TEXT)`);
      db.prepare(`INSERT INTO incidents VALUES ('i1', 'credential stuffing')`).run();
      db.close();

      const q = make();
      await q.enqueue([{ id: 'a', data: { n: 1 } }]);

      const check = raw();
      expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(check.prepare(`SELECT title FROM incidents WHERE id = 'i1'`).get()).toEqual({ title: 'credential stuffing' });
      check.close();
    });

    it('keeps queues of different names apart', async () => {
      const a = make();
      const b = make();
      await a.enqueue([{ id: 'same-id', data: { n: 1 } }]);
      await b.enqueue([{ id: 'same-id', data: { n: 2 } }]);
      const seen: Payload[] = [];
      await b.start(async (job) => {
        seen.push(job.data);
        return OK;
      }, 1);
      await waitFor(async () => (await b.counts()).completed === 1, { what: 'b processed' });
      expect(seen).toEqual([{ n: 2 }]);
      expect(await a.counts()).toMatchObject({ waiting: 1, completed: 0 });
    });
  });

  describe('retention', () => {
    it('prunes old completed jobs down to keepCompleted, and still dedupes the recent ones', async () => {
      const q = make({ keepCompleted: 10 });
      const runs = new Map<string, number>();
      await q.enqueue(Array.from({ length: 120 }, (_, i) => ({ id: `j-${i}`, data: { n: i } })));
      await q.start(async (job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        return OK;
      }, 4);
      await waitFor(() => runs.size === 120, { what: '120 jobs run' });
      await waitFor(async () => (await q.counts()).waiting === 0 && (await q.counts()).active === 0, { what: 'queue drained' });

      const { completed } = await q.counts();
      expect(completed).toBeGreaterThanOrEqual(10);
      expect(completed).toBeLessThan(120);

      await q.enqueue([{ id: 'j-119', data: { n: 119 } }, { id: 'barrier', data: { n: -1 } }]);
      await waitFor(() => runs.has('barrier'), { what: 'barrier job' });
      expect(runs.get('j-119')).toBe(1);
    });
  });

  describe('close', () => {
    it('leaves no timers behind and refuses work afterwards', async () => {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const baseline = timers();
      const q = make({ pollIntervalMs: 10 });
      await q.start(async () => OK, 2);
      await q.enqueue([{ id: 'a', data: { n: 1 } }]);
      await waitFor(async () => (await q.counts()).completed === 1, { what: 'job done' });
      // the poll timer is re-armed after each loop turn: between a turn's start and its re-arm none is pending
      await waitFor(() => timers() > baseline, { what: 'the running queue to hold its poll timer' });

      await q.close();
      expect(timers()).toBe(baseline);
      await expect(q.enqueue([{ id: 'b', data: { n: 2 } }])).rejects.toThrow(/closed/);
      expect(await q.health()).toMatchObject({ ok: false });
    });
  });
});
