import type { DeadLetter } from '@vigil/contracts';
import type { DeadLetterRepository, TimeRange } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { sql, where, type Sql } from '../sql.js';

const TABLE = 'dead_letters';
const COLUMNS = sql`id, tenant, received_at, source, reason, raw`;

function conditions(f: TimeRange & { tenant?: string; reason?: string }): Sql[] {
  const c: Sql[] = [];
  if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
  if (f.reason !== undefined) c.push(sql`position(reason, ${f.reason}) > 0`);
  if (f.from !== undefined) c.push(sql`received_at >= ${f.from}`);
  if (f.to !== undefined) c.push(sql`received_at < ${f.to}`);
  return c;
}

/** Dead letters: append-only, idempotent by id, newest first (ties by id); `reason` matches as a case-sensitive substring. */
export class ClickHouseDeadLetterRepository implements DeadLetterRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async insert(records: DeadLetter[]): Promise<void> {
    await this.db.insert(
      TABLE,
      records.map((d) => ({ id: d.id, tenant: d.tenant, received_at: d.receivedAt, source: d.source, reason: d.reason, raw: d.raw })),
    );
  }

  async list(f: TimeRange & { tenant?: string; reason?: string; limit?: number }): Promise<DeadLetter[]> {
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)}
${where(conditions(f))}
ORDER BY received_at DESC, id ASC
LIMIT 1 BY id
LIMIT ${limitOf(f.limit)}`);
    return rows.map((r) => ({
      v: 1 as const, id: str(r, 'id'), tenant: str(r, 'tenant'), receivedAt: num(r, 'received_at'), source: str(r, 'source'),
      reason: str(r, 'reason'), raw: str(r, 'raw'),
    }));
  }

  async count(f: TimeRange & { tenant?: string }): Promise<number> {
    const rows = await this.db.select(sql`SELECT uniqExact(id) AS n FROM ${this.db.table(TABLE)} ${where(conditions({ ...f, reason: undefined }))}`);
    return rows[0] ? num(rows[0], 'n') : 0;
  }
}
