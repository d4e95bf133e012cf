import type Database from 'better-sqlite3';
import type { AuditEntry, AuditFilter, AuditRepository } from '../ports/store.js';

interface AuditRow {
  id: string; tenant: string; at: number; actor: string; action: string; target_type: string; target_id: string; details: string;
}

const COLUMNS = ['id', 'tenant', 'at', 'actor', 'action', 'target_type', 'target_id', 'details'] as const;

/** The audit log in SQLite (table `audit_log`, migration 0004_audit_log): INSERT OR IGNORE by id, newest first. */
export class SqliteAuditRepository implements AuditRepository {
  /** Prepared on first use: the table exists only once `migrate()` has run. */
  private insert: Database.Statement | null = null;

  constructor(private readonly db: Database.Database) {}

  async append(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const insert = (this.insert ??= this.db.prepare(
      `INSERT OR IGNORE INTO audit_log (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`,
    ));
    this.db.transaction((batch: AuditEntry[]) => {
      for (const e of batch) {
        insert.run({
          id: e.id, tenant: e.tenant, at: e.at, actor: e.actor, action: e.action, target_type: e.targetType, target_id: e.targetId,
          details: e.details,
        });
      }
    })(entries);
  }

  async list(f: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    const add = (clause: string, name: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add('tenant = @tenant', 'tenant', f.tenant);
    add('action = @action', 'action', f.action);
    add('actor = @actor', 'actor', f.actor);
    add('target_id = @targetId', 'targetId', f.targetId);
    add('at >= @from', 'from', f.from);
    add('at < @to', 'to', f.to);
    const limit = f.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
    const rows = this.db
      .prepare(`SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id ASC LIMIT @limit`)
      .all({ ...params, limit }) as AuditRow[];
    return rows.map((r) => ({
      id: r.id, tenant: r.tenant, at: r.at, actor: r.actor, action: r.action, targetType: r.target_type, targetId: r.target_id,
      details: r.details,
    }));
  }
}
