import type { Clock } from '../clock/clock.js';
import type { ClickHouseDb } from './clickhouse-db.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { ident, sql } from './sql.js';
import { str } from './rows.js';

export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Creates the database if absent, then applies every migration not yet recorded in `schema_migrations`, in
 * version order. Idempotent: statements are `IF NOT EXISTS` and the record table is a ReplacingMergeTree keyed by
 * version, so two instances migrating at once end in the same state. Returns the versions applied by this call.
 */
export async function runMigrations(db: ClickHouseDb, clock: Clock, migrations: readonly Migration[] = MIGRATIONS): Promise<string[]> {
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new Error(`duplicate migration version in ${versions.join(', ')}`);

  await db.command(sql`CREATE DATABASE IF NOT EXISTS ${ident(db.database)}`);
  await db.command(sql`CREATE TABLE IF NOT EXISTS ${db.table(MIGRATIONS_TABLE)} (
  version String,
  description String,
  applied_at UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY tuple()
ORDER BY version`);

  const done = new Set((await appliedMigrations(db)).map((m) => m.version));
  const applied: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.version.localeCompare(b.version))) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements(db.database)) await db.command(statement);
    await db.insert(MIGRATIONS_TABLE, [{ version: m.version, description: m.description, applied_at: clock.now() }]);
    applied.push(m.version);
  }
  return applied;
}

export async function appliedMigrations(db: ClickHouseDb): Promise<{ version: string; description: string }[]> {
  const rows = await db.select(
    sql`SELECT version, any(description) AS description FROM ${db.table(MIGRATIONS_TABLE)} GROUP BY version ORDER BY version`,
  );
  return rows.map((r) => ({ version: str(r, 'version'), description: str(r, 'description') }));
}
