import { createTables, defineTable } from './table.js';

/**
 * The outbox: notifications recorded before the change they announce is stored, settled once sent. A pending entry is
 * a row with done_at = 0; settling it inserts the same row with done_at set, and ReplacingMergeTree(done_at) keyed by
 * (key, id) keeps the settled one (of two pending rows, the last inserted). Daily partitions by created_at: retention
 * drops old days, and both rows of an entry land in the same partition because they carry the same created_at.
 * On a cluster sharded by key: both rows of an entry meet on one shard (FINAL stays exact), and the reads, which
 * select by key, touch one shard.
 */
export const m0006Outbox = createTables('0006_outbox', [
  defineTable({
    name: 'outbox',
    columns: { key: 'String', id: 'String', payload: 'String', created_at: 'UInt64', done_at: 'UInt64' },
    version: 'done_at',
    partition: { daily: 'created_at' },
    orderBy: ['key', 'id'],
    cluster: { shardBy: 'key' },
  }),
]);
