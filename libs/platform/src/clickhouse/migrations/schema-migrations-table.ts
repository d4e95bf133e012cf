import { defineTable } from './table.js';

/**
 * The migrator's record of applied versions (../migrator.ts creates it before any migration). A ReplacingMergeTree
 * keyed by version, so two instances recording one version at once leave one row; on a cluster on every node.
 */
export const SCHEMA_MIGRATIONS_TABLE = defineTable({
  name: 'schema_migrations',
  columns: { version: 'String', description: 'String', applied_at: 'UInt64' },
  partition: 'none',
  orderBy: ['version'],
  cluster: 'replicated everywhere',
});
