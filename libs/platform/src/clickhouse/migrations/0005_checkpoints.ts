import { createTables, defineTable } from './table.js';

/**
 * Stream-processor checkpoints (the detector's per-partition state). One row per chunk of a checkpoint, the state as
 * base64 text in a String column; ReplacingMergeTree(updated_at) keyed by (group, topic, partition, chunk) keeps the
 * newest write of every chunk, and `write_id` ties the chunks of one write together (see checkpoint.repository.ts).
 * Not partitioned by time: retention never drops a checkpoint. On a cluster on every node (read with FINAL).
 */
export const m0005Checkpoints = createTables('0005_checkpoints', [
  defineTable({
    name: 'checkpoints',
    columns: {
      consumer_group: 'String',
      topic: 'String',
      partition: 'UInt32',
      chunk: 'UInt32',
      chunks: 'UInt32',
      write_id: 'String',
      resume_offset: 'String',
      updated_at: 'UInt64',
      data: 'String',
    },
    version: 'updated_at',
    partition: 'none',
    orderBy: ['consumer_group', 'topic', 'partition', 'chunk'],
    cluster: 'replicated everywhere',
  }),
]);
