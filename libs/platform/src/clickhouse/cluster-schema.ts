import type { Migration } from './migrations/migration.js';
import { SCHEMA_MIGRATIONS_TABLE } from './migrations/schema-migrations-table.js';
import { checkTable, createTableSql, tableBody, type TableDef } from './migrations/table.js';

/**
 * deploy/clickhouse/cluster-schema.sql, rendered from the migrations' table definitions (pure: no I/O; the file is
 * written by scripts/gen-cluster-schema.ts and compared by libs/platform/src/deploy-manifests.spec.ts).
 *
 * Each table of a migration becomes, for ClickHouse 24.x with Keeper:
 * - sharded (`cluster: { shardBy }`): `<table>_local`, a ReplicatedReplacingMergeTree per shard (Keeper path with
 *   `{shard}`), and `<table>`, a Distributed table over it sharded by `cityHash64(<shardBy>)`;
 * - replicated everywhere: `<table>`, one ReplicatedReplacingMergeTree whose Keeper path has no `{shard}`, so every
 *   node of the cluster is a replica of it.
 * Columns, version, PARTITION BY and ORDER BY are those the migration creates on one server (same `tableBody`).
 */

export const CLUSTER_SCHEMA_FILE = 'deploy/clickhouse/cluster-schema.sql';
export const GEN_CLUSTER_SCHEMA_COMMAND = 'npm run gen:cluster-schema';

export interface ClusterSchemaOptions {
  /** The database the services use (CLICKHOUSE_DATABASE); `vigil` unless given. */
  database?: string;
  /** The migrator's own record table, created before any migration; SCHEMA_MIGRATIONS_TABLE unless given. */
  recordTable?: TableDef;
}

const HEADER = `-- GENERATED from libs/platform/src/clickhouse/migrations by \`${GEN_CLUSTER_SCHEMA_COMMAND}\`: do not edit by hand.
-- Vigil's ClickHouse schema on a cluster (ClickHouse 24.x with ClickHouse Keeper). See cluster.md next to this file.
--
-- Run it before the first service start, from any node (clickhouse-client --multiquery < cluster-schema.sql).
-- Every node needs the macros {cluster}, {shard} and {replica} (config.d/macros.xml) and the cluster in remote_servers.
-- The services then find every table they would create already there (their migrations are CREATE ... IF NOT EXISTS
-- and only record themselves in schema_migrations). Before a release that adds a migration, apply the regenerated
-- file again (every statement is IF NOT EXISTS: only the new tables are created), then roll out; see "Upgrades" in
-- cluster.md.
--
-- Two shapes:
-- * sharded: <table>_local is a ReplicatedReplacingMergeTree on each shard, <table> (the name the app uses) is a
--   Distributed table over it, sharded by cityHash64(<key>). All rows of one key land on one shard, so the
--   ReplacingMergeTree dedupe, \`FINAL\` and \`LIMIT 1 BY id\` (applied per shard, then again on the initiator) stay exact.
-- * replicated everywhere: small, mutable tables read with FINAL are one replicated table with the same Keeper path on
--   every node of the cluster (path without {shard}), under the name the app uses: every node holds all rows, reads
--   are local and exact.`;

/** The cluster DDL of every table the migrations create, in migration order, with a header and the database. */
export function renderClusterSchema(migrations: readonly Migration[], options: ClusterSchemaOptions = {}): string {
  const db = options.database ?? 'vigil';
  const tables = [
    { table: options.recordTable ?? SCHEMA_MIGRATIONS_TABLE, from: 'the migrator (schema_migrations)' },
    ...migrations.flatMap((m) => tablesOf(m).map((table) => ({ table, from: m.version }))),
  ];
  const everywhere = tables.filter((t) => t.table.cluster === 'replicated everywhere');
  const sharded = tables.filter((t) => t.table.cluster !== 'replicated everywhere');
  const section = (title: string) => `-- ${'-'.repeat(94)} ${title}`;
  const block = ({ table, from }: { table: TableDef; from: string }) => `-- ${from}\n${clusterTableDdl(db, table)}`;
  return [
    HEADER,
    `CREATE DATABASE IF NOT EXISTS ${db} ON CLUSTER '{cluster}';`,
    section('replicated everywhere'),
    ...everywhere.map(block),
    section('sharded'),
    ...sharded.map(block),
  ].join('\n\n') + '\n';
}

/** The statements of one table on a cluster (`;`-terminated, ON CLUSTER, idempotent). */
export function clusterTableDdl(database: string, t: TableDef): string {
  checkTable(t);
  const create = (name: string) => `CREATE TABLE IF NOT EXISTS ${database}.${name} ON CLUSTER '{cluster}'`;
  const replicated = (name: string, shard: string) =>
    `${create(name)} ${tableBody(t, 'ReplicatedReplacingMergeTree', [`'/clickhouse/tables/${shard}/${database}/${name}'`, `'{replica}'`])};`;
  if (t.cluster === 'replicated everywhere') return replicated(t.name, 'all');
  const local = `${t.name}_local`;
  return `${replicated(local, '{shard}')}
${create(t.name)} AS ${database}.${local}
ENGINE = Distributed('{cluster}', ${database}, ${local}, cityHash64(${t.cluster.shardBy}));`;
}

/**
 * A migration's tables, refusing one whose statements are not exactly its tables' single-server rendering (a
 * hand-written statement would be missing from the cluster schema without anyone noticing).
 */
export function tablesOf(m: Migration): readonly TableDef[] {
  const tables: readonly TableDef[] | undefined = m.tables;
  const rendered = (tables ?? []).map((t) => createTableSql('vigil', t).text);
  const statements = m.statements('vigil').map((s) => s.text);
  if (tables === undefined || statements.length !== rendered.length || statements.some((s, i) => s !== rendered[i])) {
    throw new Error(
      `migration ${m.version}: its statements are not the rendering of its tables; build it with createTables (migrations/table.ts) so the cluster schema can include it`,
    );
  }
  return tables;
}
