import { qualified, sql, type Sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * The audit log of administrative actions: append-only, idempotent by id (`LIMIT 1 BY id` on read), monthly
 * partitions (kept: retention does not drop audit history).
 */
export const m0004AuditLog: Migration = {
  version: '0004_audit_log',
  description: 'audit_log',
  statements: (db: string): Sql[] => [
    sql`CREATE TABLE IF NOT EXISTS ${qualified(db, 'audit_log')} (
  id String,
  tenant String,
  at UInt64,
  actor String,
  action String,
  target_type String,
  target_id String,
  details String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, at, id)`,
  ],
};
