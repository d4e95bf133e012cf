import type { AuditEntry, AuditFilter, AuditRepository } from '../../ports/store.js';
import type { ClickHouseDb } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { sql, where, type Sql } from '../sql.js';

const COLUMNS = sql`id, tenant, at, actor, action, target_type, target_id, details`;

/** The audit log (`audit_log`, migration 0004_audit_log): one JSONEachRow insert per append, newest first. */
export class ClickHouseAuditRepository implements AuditRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async append(entries: AuditEntry[]): Promise<void> {
    await this.db.insert('audit_log', entries.map((e) => ({
      id: e.id, tenant: e.tenant, at: e.at, actor: e.actor, action: e.action, target_type: e.targetType, target_id: e.targetId,
      details: e.details,
    })));
  }

  async list(f: AuditFilter): Promise<AuditEntry[]> {
    const c: Sql[] = [];
    if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
    if (f.action !== undefined) c.push(sql`action = ${f.action}`);
    if (f.actor !== undefined) c.push(sql`actor = ${f.actor}`);
    if (f.targetId !== undefined) c.push(sql`target_id = ${f.targetId}`);
    if (f.from !== undefined) c.push(sql`at >= ${f.from}`);
    if (f.to !== undefined) c.push(sql`at < ${f.to}`);
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table('audit_log')}
${where(c)}
ORDER BY at DESC, id ASC
LIMIT 1 BY id
LIMIT ${limitOf(f.limit)}`);
    return rows.map((r) => ({
      id: str(r, 'id'), tenant: str(r, 'tenant'), at: num(r, 'at'), actor: str(r, 'actor'), action: str(r, 'action'),
      targetType: str(r, 'target_type'), targetId: str(r, 'target_id'), details: str(r, 'details'),
    }));
  }
}
