import type { ClickHouseClient } from '@clickhouse/client';
import { qualified, sql, where, type Sql } from './sql.js';

/** Raw JSONEachRow row as the server returns it; mapped to domain types by each repository. */
export type Row = Record<string, unknown>;

/**
 * Settings sent with every read. Both exist on 18.16 and 24.x.
 * - max_query_size: the default (256 KiB) would refuse a WHERE clause carrying a 1 MiB literal.
 * - output_format_json_quote_64bit_integers=0: UInt64 epoch ms come back as JSON numbers.
 */
const READ_SETTINGS = { max_query_size: String(64 * 1024 * 1024), output_format_json_quote_64bit_integers: 0 as const };

/**
 * Thin I/O wrapper: every statement is an `Sql` fragment (built by the escaper), every insert one JSONEachRow batch.
 * Tables are always addressed as `db`.`table`, so the client itself needs no default database (which lets
 * `migrate()` create it).
 */
export class ClickHouseDb {
  constructor(
    readonly client: ClickHouseClient,
    readonly database: string,
  ) {}

  table(name: string): Sql {
    return qualified(this.database, name);
  }

  async select(query: Sql, opts: { abortSignal?: AbortSignal } = {}): Promise<Row[]> {
    const rs = await this.client.query({
      query: query.text,
      format: 'JSONEachRow',
      clickhouse_settings: READ_SETTINGS,
      ...(opts.abortSignal ? { abort_signal: opts.abortSignal } : {}),
    });
    return rs.json<Row>();
  }

  async command(query: Sql): Promise<void> {
    await this.client.command({ query: query.text, clickhouse_settings: { max_query_size: READ_SETTINGS.max_query_size } });
  }

  /** One INSERT per call. JSON strings carry quotes, backslashes and NUL safely; an empty batch is a no-op. */
  async insert(table: string, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table: this.table(table).text, values: rows, format: 'JSONEachRow' });
  }
}

/**
 * `SELECT columns` of the latest version (ReplacingMergeTree read with FINAL, keyed by `id`) of every row whose
 * latest version matches `conditions`. Exact even before merges and for conditions on mutable columns:
 * candidates are the ids with ANY version matching (a cheap scan without FINAL), FINAL runs only over those ids
 * (primary-key lookup), and the conditions are checked again on the latest version outside the FINAL read, so a
 * stale version can never match. Callers append ORDER BY / LIMIT.
 */
export function latestVersions(table: Sql, columns: Sql, conditions: readonly Sql[]): Sql {
  if (conditions.length === 0) return sql`SELECT ${columns} FROM ${table} FINAL`;
  const w = where(conditions);
  return sql`SELECT ${columns} FROM (
  SELECT ${columns} FROM ${table} FINAL WHERE id IN (SELECT id FROM ${table} ${w})
)
${w}`;
}
