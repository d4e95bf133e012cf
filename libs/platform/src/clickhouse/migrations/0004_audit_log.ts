import { createTables, defineTable } from './table.js';

/**
 * The audit log of administrative actions: append-only, idempotent by id (`LIMIT 1 BY id` on read), monthly
 * partitions (kept: retention does not drop audit history).
 */
export const m0004AuditLog = createTables('0004_audit_log', [
  defineTable({
    name: 'audit_log',
    columns: {
      id: 'String',
      tenant: 'String',
      at: 'UInt64',
      actor: 'String',
      action: 'String',
      target_type: 'String',
      target_id: 'String',
      details: 'String',
    },
    partition: { monthly: 'at' },
    orderBy: ['tenant', 'at', 'id'],
    cluster: { shardBy: 'id' },
  }),
]);
