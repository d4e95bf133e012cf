import type { OutboxEntry, OutboxRepository } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { inList, sql, where, type Sql } from '../sql.js';

/**
 * The outbox (`outbox`, migration 0006_outbox): ReplacingMergeTree(done_at) read through FINAL, so a settled entry
 * (done_at > 0) hides its pending row. `key` and `id` are the sort key, the same in both rows: filtering on them
 * inside the FINAL read is safe; done_at is filtered outside it.
 */
export class ClickHouseOutboxRepository implements OutboxRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async add(entries: OutboxEntry[]): Promise<void> {
    if (!entries.length) return;
    // A done entry must stay done: only the pending ones are (re)written (a done row beats a pending one anyway).
    await this.db.insert('outbox', entries.map((e) => ({ key: e.key, id: e.id, payload: e.payload, created_at: e.createdAt, done_at: 0 })));
  }

  async pending(f: { keys?: string[]; createdBefore?: number; limit?: number }): Promise<OutboxEntry[]> {
    if (f.keys !== undefined && !f.keys.length) return [];
    const inner: Sql[] = [];
    if (f.keys !== undefined) inner.push(sql`key IN ${inList(f.keys)}`);
    const outer: Sql[] = [sql`done_at = 0`];
    if (f.createdBefore !== undefined) outer.push(sql`created_at < ${f.createdBefore}`);
    const rows = await this.db.select(sql`SELECT key, id, payload, created_at FROM (
  SELECT key, id, payload, created_at, done_at FROM ${this.db.table('outbox')} FINAL ${where(inner)}
)
${where(outer)}
ORDER BY created_at ASC, id ASC
LIMIT ${limitOf(f.limit)}`);
    return rows.map(entryFromRow);
  }

  async markDone(entries: OutboxEntry[], at: number): Promise<void> {
    if (!entries.length) return;
    const doneAt = Math.max(1, Math.floor(at));
    await this.db.insert('outbox', entries.map((e) => ({ key: e.key, id: e.id, payload: e.payload, created_at: e.createdAt, done_at: doneAt })));
  }
}

function entryFromRow(r: Row): OutboxEntry {
  return { key: str(r, 'key'), id: str(r, 'id'), payload: str(r, 'payload'), createdAt: num(r, 'created_at') };
}
