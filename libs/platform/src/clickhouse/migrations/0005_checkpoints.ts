import { qualified, sql, type Sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * Stream-processor checkpoints (the detector's per-partition state). One row per chunk of a checkpoint, the state as
 * base64 text in a String column; ReplacingMergeTree(updated_at) keyed by (group, topic, partition, chunk) keeps the
 * newest write of every chunk, and `write_id` ties the chunks of one write together (see checkpoint.repository.ts).
 * Not partitioned by time: retention never drops a checkpoint.
 */
export const m0005Checkpoints: Migration = {
  version: '0005_checkpoints',
  description: 'checkpoints',
  statements: (db: string): Sql[] => [
    sql`CREATE TABLE IF NOT EXISTS ${qualified(db, 'checkpoints')} (
  consumer_group String,
  topic String,
  partition UInt32,
  chunk UInt32,
  chunks UInt32,
  write_id String,
  resume_offset String,
  updated_at UInt64,
  data String
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY tuple()
ORDER BY (consumer_group, topic, partition, chunk)`,
  ],
};
