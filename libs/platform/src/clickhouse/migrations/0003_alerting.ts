import { createTables, defineTable, mutableById } from './table.js';

/**
 * Alerting: silences (mutable, ReplacingMergeTree(updated_at), read with FINAL; on a cluster on every node) and the
 * live-event log of the `/alerts` socket namespace (append-only, idempotent by event_id via `LIMIT 1 BY event_id` on
 * read, daily partitions that retention drops like the other time series; on a cluster sharded by event_id).
 */
export const m0003Alerting = createTables('0003_alerting', [
  defineTable({
    name: 'silences',
    columns: {
      id: 'String',
      tenant: 'String',
      kind: 'String',
      matchers: 'String',
      starts_at: 'UInt64',
      ends_at: 'UInt64',
      reason: 'String',
      created_by: 'String',
      created_at: 'UInt64',
      updated_at: 'UInt64',
      deleted: 'UInt8',
    },
    ...mutableById('updated_at'),
    cluster: 'replicated everywhere',
  }),
  defineTable({
    name: 'stream_events',
    columns: {
      event_id: 'String',
      tenant: 'String',
      type: 'String',
      at: 'UInt64',
      severity: 'String',
      entity_type: 'String',
      entity: 'String',
      payload: 'String',
    },
    partition: { daily: 'at' },
    orderBy: ['tenant', 'event_id'],
    cluster: { shardBy: 'event_id' },
  }),
]);
