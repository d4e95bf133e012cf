import { qualified, sql, type Sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * The outbox: notifications recorded before the change they announce is stored, settled once sent. A pending entry is
 * a row with done_at = 0; settling it inserts the same row with done_at set, and ReplacingMergeTree(done_at) keyed by
 * (key, id) keeps the settled one (of two pending rows, the last inserted). Daily partitions by created_at: retention
 * drops old days, and both rows of an entry land in the same partition because they carry the same created_at.
 */
export const m0006Outbox: Migration = {
  version: '0006_outbox',
  description: 'outbox',
  statements: (db: string): Sql[] => [
    sql`CREATE TABLE IF NOT EXISTS ${qualified(db, 'outbox')} (
  key String,
  id String,
  payload String,
  created_at UInt64,
  done_at UInt64
) ENGINE = ReplacingMergeTree(done_at)
PARTITION BY toYYYYMMDD(toDateTime(intDiv(created_at, 1000), 'UTC'))
ORDER BY (key, id)`,
  ],
};
