import { m0001Init } from './0001_init.js';
import { m0003Alerting } from './0003_alerting.js';
import { m0004AuditLog } from './0004_audit_log.js';
import { m0005Checkpoints } from './0005_checkpoints.js';
import { m0006Outbox } from './0006_outbox.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every migration, in the order they apply. Append new ones; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [m0001Init, m0003Alerting, m0004AuditLog, m0005Checkpoints, m0006Outbox];

/** Time-series tables with daily partitions that retention may drop (not the monthly audit log, not the undated ones). */
export const DAILY_PARTITIONED_TABLES: readonly string[] = MIGRATIONS.flatMap((m) => m.tables)
  .filter((t) => t.partition !== 'none' && 'daily' in t.partition)
  .map((t) => t.name);
