import { qualified, sql, type Sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * Alerting: silences (mutable, ReplacingMergeTree(updated_at), read with FINAL) and the live-event log of the
 * `/alerts` socket namespace (append-only, idempotent by event_id via `LIMIT 1 BY event_id` on read, daily partitions
 * that retention drops like the other time series).
 */
export const m0003Alerting: Migration = {
  version: '0003_alerting',
  description: 'silences, stream_events',
  statements: (db: string): Sql[] => {
    const t = (name: string) => qualified(db, name);
    return [
      sql`CREATE TABLE IF NOT EXISTS ${t('silences')} (
  id String,
  tenant String,
  kind String,
  matchers String,
  starts_at UInt64,
  ends_at UInt64,
  reason String,
  created_by String,
  created_at UInt64,
  updated_at UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY tuple()
ORDER BY id`,
      sql`CREATE TABLE IF NOT EXISTS ${t('stream_events')} (
  event_id String,
  tenant String,
  type String,
  at UInt64,
  severity String,
  entity_type String,
  entity String,
  payload String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, event_id)`,
    ];
  },
};
