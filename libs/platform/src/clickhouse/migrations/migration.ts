import type { Sql } from '../sql.js';

/**
 * A versioned schema step. Versions sort lexically (`0001_init`, `0002_…`); statements must be idempotent
 * (`IF NOT EXISTS`) because two instances may start at once. Keep a released migration frozen: add a new one.
 * Every statement must be valid on ClickHouse 18.16 and 24.x: MergeTree family with explicit PARTITION BY /
 * ORDER BY, no TTL, no DateTime64/Map/IPv6/JSON/LowCardinality, no Nullable in sort keys.
 */
export interface Migration {
  version: string;
  description: string;
  statements(database: string): Sql[];
}
