import type Database from 'better-sqlite3';
import type { OutboxEntry, OutboxRepository } from '../ports/store.js';

interface Row {
  key: string;
  id: string;
  payload: string;
  created_at: number;
}

/**
 * The outbox in SQLite (`outbox`, migration 0006_outbox): one row per entry, `done_at` NULL while pending. Adding a
 * pending id again replaces its key and payload; a settled row is never touched again by `add`.
 */
export class SqliteOutboxRepository implements OutboxRepository {
  constructor(private readonly db: Database.Database) {}

  async add(entries: OutboxEntry[]): Promise<void> {
    if (!entries.length) return;
    const ins = this.db.prepare(
      `INSERT INTO outbox (id, key, payload, created_at, done_at) VALUES (@id, @key, @payload, @createdAt, NULL)
       ON CONFLICT (id) DO UPDATE SET key = excluded.key, payload = excluded.payload WHERE outbox.done_at IS NULL`,
    );
    this.db.transaction(() => {
      for (const e of entries) ins.run({ id: e.id, key: e.key, payload: e.payload, createdAt: e.createdAt });
    })();
  }

  async pending(f: { keys?: string[]; createdBefore?: number; limit?: number }): Promise<OutboxEntry[]> {
    if (f.keys !== undefined && !f.keys.length) return [];
    const clauses = ['done_at IS NULL'];
    const params: Record<string, string | number> = { limit: limitOf(f.limit) };
    if (f.keys !== undefined) {
      clauses.push(`key IN (${f.keys.map((_, i) => `@k${i}`).join(', ')})`);
      f.keys.forEach((k, i) => (params[`k${i}`] = k));
    }
    if (f.createdBefore !== undefined) {
      clauses.push('created_at < @createdBefore');
      params['createdBefore'] = f.createdBefore;
    }
    const rows = this.db
      .prepare(`SELECT key, id, payload, created_at FROM outbox WHERE ${clauses.join(' AND ')} ORDER BY created_at ASC, id ASC LIMIT @limit`)
      .all(params) as Row[];
    return rows.map((r) => ({ key: r.key, id: r.id, payload: r.payload, createdAt: r.created_at }));
  }

  async markDone(entries: OutboxEntry[], at: number): Promise<void> {
    if (!entries.length) return;
    const done = this.db.prepare(
      `INSERT INTO outbox (id, key, payload, created_at, done_at) VALUES (@id, @key, @payload, @createdAt, @at)
       ON CONFLICT (id) DO UPDATE SET done_at = excluded.done_at WHERE outbox.done_at IS NULL`,
    );
    this.db.transaction(() => {
      for (const e of entries) done.run({ id: e.id, key: e.key, payload: e.payload, createdAt: e.createdAt, at: Math.floor(at) });
    })();
  }
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
  return limit;
}
