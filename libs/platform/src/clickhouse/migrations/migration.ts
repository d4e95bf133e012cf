import type { Sql } from '../sql.js';
import type { TableDef } from './table.js';

/**
 * A versioned schema step. Versions sort lexically (`0001_init`, `0002_…`); statements must be idempotent
 * (`IF NOT EXISTS`) because two instances may start at once. Keep a released migration frozen: add a new one.
 * Every statement must be valid on ClickHouse 18.16 and 24.x: MergeTree family with explicit PARTITION BY /
 * ORDER BY, no TTL, no DateTime64/Map/IPv6/JSON/LowCardinality, no Nullable in sort keys.
 *
 * Build one with `createTables` (./table.ts): the tables are data, `statements` their single-server rendering, and
 * deploy/clickhouse/cluster-schema.sql is rendered from the same `tables` (`npm run gen:cluster-schema`). A
 * migration that is not a set of new tables (an ALTER) needs its shape added there and in ../cluster-schema.ts.
 */
export interface Migration {
  version: string;
  /** Recorded in schema_migrations next to the version. */
  description: string;
  /** The tables this migration creates. */
  tables: readonly TableDef[];
  statements(database: string): Sql[];
}
