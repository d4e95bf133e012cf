import { ident, qualified, Sql, sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * A ClickHouse table as data: the single definition both the services' migrations (one server, rendered here) and
 * deploy/clickhouse/cluster-schema.sql (replicated and sharded, rendered by ../cluster-schema.ts) are made from.
 *
 * Column types are limited to what ClickHouse 18.16 and 24.x both accept and the repositories use: no
 * DateTime64/Map/IPv6/JSON/LowCardinality. Times are UInt64 epoch ms, booleans UInt8, nested objects JSON text.
 */
type Scalar = 'String' | 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Int32' | 'Int64' | 'Float64';
export type ColumnType = Scalar | `Array(${Scalar})` | `Nullable(${Scalar})`;

/**
 * Partitions by the UTC day or month of an epoch-ms column (retention drops whole days), or none: one partition
 * (`tuple()`), for tables retention never drops.
 */
export type Partition<C extends string = string> = { readonly daily: C } | { readonly monthly: C } | 'none';

/**
 * Where the rows live on a cluster. `{ shardBy }`: a `<table>_local` replicated table on each shard under a
 * Distributed `<table>` sharded by `cityHash64(shardBy)`; every copy of one key (a redelivery, every version) must
 * share that column so ReplacingMergeTree, `FINAL` and `LIMIT 1 BY` meet them on one shard. `'replicated everywhere'`:
 * small mutable tables read with FINAL, one replica set spanning every node, so every read is local and exact.
 */
export type Placement<C extends string = string> = { readonly shardBy: C } | 'replicated everywhere';

/** `C`: the column names, taken from `columns`; every other field may only name one of them. */
export interface TableDef<C extends string = string> {
  readonly name: string;
  /** Column name → type, in table order. */
  readonly columns: Readonly<Record<C, ColumnType>>;
  /**
   * ReplacingMergeTree's version column: the row with the highest version wins (mutable records read with FINAL).
   * Absent for immutable records: duplicates are redeliveries of the same row.
   */
  readonly version?: NoInfer<C>;
  readonly partition: Partition<NoInfer<C>>;
  /** The sort key, which is also the dedupe key of ReplacingMergeTree. */
  readonly orderBy: readonly NoInfer<C>[];
  readonly cluster: Placement<NoInfer<C>>;
}

/**
 * The shape of a mutable record (incidents, api keys, subscriptions, silences): ReplacingMergeTree(version) ordered
 * by id in one partition, read with FINAL so the highest version of an id wins, never dropped by retention. Spread
 * into a definition: `defineTable({ name, columns, ...mutableById('updated_at'), cluster })`.
 */
export function mutableById<const V extends string>(version: V) {
  return { version, partition: 'none', orderBy: ['id'] } as const;
}

export class TableDefError extends Error {
  constructor(table: string, message: string) {
    super(`table ${table}: ${message}`);
    this.name = 'TableDefError';
  }
}

/**
 * A checked table definition. The column references are typed against the columns; at run time it also refuses
 * what either server version would reject or what would break the dedupe (Nullable in a key, a non-integer version,
 * a partition column that is not epoch ms), and names that are not plain identifiers.
 */
export function defineTable<const C extends string>(def: TableDef<C>): TableDef<C> {
  checkTable(def);
  return def;
}

const SCALAR = '(String|UInt(8|16|32|64)|Int(32|64)|Float64)';
const COLUMN_TYPE = new RegExp(`^(${SCALAR}|Array\\(${SCALAR}\\)|Nullable\\(${SCALAR}\\))$`);

/** Throws a TableDefError naming the table and the problem; run again by every rendering. */
export function checkTable(t: TableDef): void {
  const fail = (message: string): never => {
    throw new TableDefError(t.name, message);
  };
  const typeOf = (column: string, role: string): ColumnType => {
    const type = (t.columns as Record<string, ColumnType | undefined>)[column];
    return type ?? fail(`${role} column ${column} is not a column`);
  };
  ident(t.name);
  const columns = columnsOf(t);
  if (columns.length === 0) fail('no columns');
  for (const [name, type] of columns) {
    ident(name);
    if (!COLUMN_TYPE.test(type)) fail(`column ${name} has type ${type}, not one valid on ClickHouse 18.16 and 24.x`);
  }
  if (t.orderBy.length === 0) fail('empty ORDER BY');
  for (const c of t.orderBy) if (typeOf(c, 'ORDER BY').startsWith('Nullable')) fail(`ORDER BY column ${c} is Nullable`);
  if (t.version !== undefined && !/^UInt(8|16|32|64)$/.test(typeOf(t.version, 'version'))) fail(`version column ${t.version} must be UInt*`);
  if (t.partition !== 'none') {
    const c = 'daily' in t.partition ? t.partition.daily : t.partition.monthly;
    if (typeOf(c, 'partition') !== 'UInt64') fail(`partition column ${c} must be UInt64 epoch ms`);
  }
  if (t.cluster !== 'replicated everywhere' && typeOf(t.cluster.shardBy, 'shardBy').startsWith('Nullable')) fail(`shard key ${t.cluster.shardBy} is Nullable`);
}

export function columnsOf(t: TableDef): [name: string, type: ColumnType][] {
  return Object.entries<ColumnType>(t.columns);
}

export function partitionExpression(t: TableDef): string {
  if (t.partition === 'none') return 'tuple()';
  const [fn, column] = 'daily' in t.partition ? ['toYYYYMMDD', t.partition.daily] : ['toYYYYMM', t.partition.monthly];
  return `${fn}(toDateTime(intDiv(${column}, 1000), 'UTC'))`;
}

/**
 * Everything after the table name and before the statement's end: the column list, the engine (the engine name and
 * its leading arguments given, the version column appended), PARTITION BY and ORDER BY. Shared by both renderings.
 */
export function tableBody(t: TableDef, engine: string, engineArgs: readonly string[] = []): string {
  const columns = columnsOf(t).map(([name, type]) => `  ${name} ${type}`);
  const args = [...engineArgs, ...(t.version === undefined ? [] : [t.version])];
  const orderBy = t.orderBy.length === 1 ? t.orderBy[0]! : `(${t.orderBy.join(', ')})`;
  return `(\n${columns.join(',\n')}\n) ENGINE = ${engine}(${args.join(', ')})\nPARTITION BY ${partitionExpression(t)}\nORDER BY ${orderBy}`;
}

/**
 * The single-server statement the migrations run: a plain ReplacingMergeTree, idempotent. The body is text made of
 * names checkTable accepted (the pattern `ident` enforces), types from a closed set and constant SQL, so it is
 * wrapped as a fragment as it is; `ident` itself would back-quote the column names and change the released text.
 */
export function createTableSql(database: string, t: TableDef): Sql {
  checkTable(t);
  return sql`CREATE TABLE IF NOT EXISTS ${qualified(database, t.name)} ${new Sql(tableBody(t, 'ReplacingMergeTree'))}`;
}

/**
 * A migration that creates tables. Its description (recorded in schema_migrations) is the table names unless given.
 * Keep a released one frozen: a change to a table is a new migration.
 */
export function createTables(version: string, tables: readonly TableDef[], description = tables.map((t) => t.name).join(', ')): Migration {
  return {
    version,
    description,
    tables,
    statements: (database: string): Sql[] => tables.map((t) => createTableSql(database, t)),
  };
}
