import type { z } from 'zod';
import type { Row } from './clickhouse-db.js';

/** Readers for JSONEachRow rows: fail loudly on a schema drift instead of returning half-typed records. */
export class RowShapeError extends Error {
  constructor(column: string, expected: string, got: unknown) {
    super(`ClickHouse row column ${column}: expected ${expected}, got ${typeof got}`);
    this.name = 'RowShapeError';
  }
}

export function str(row: Row, column: string): string {
  const v = row[column];
  if (typeof v !== 'string') throw new RowShapeError(column, 'string', v);
  return v;
}

export function num(row: Row, column: string): number {
  const v = row[column];
  // UInt64 may arrive quoted if a server ignores output_format_json_quote_64bit_integers.
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || Number.isNaN(n)) throw new RowShapeError(column, 'number', v);
  return n;
}

export function numOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : num(row, column);
}

export function bool(row: Row, column: string): boolean {
  return num(row, column) !== 0;
}

export function strArray(row: Row, column: string): string[] {
  const v = row[column];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new RowShapeError(column, 'string[]', v);
  return v;
}

export function json<T>(row: Row, column: string, schema: z.ZodType<T>): T {
  const parsed: unknown = JSON.parse(str(row, column));
  const r = schema.safeParse(parsed);
  if (!r.success) throw new RowShapeError(column, 'JSON matching its schema', parsed);
  return r.data;
}

/** Epoch ms → `YYYYMMDD` of its UTC day: the partition id of the daily partitions. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

export const DEFAULT_LIST_LIMIT = 1000;

/** `limit` as given (capped at `max`), `fallback` when absent; anything but a positive integer is a RangeError. */
export function limitOf(limit: number | undefined, fallback = DEFAULT_LIST_LIMIT, max = Number.MAX_SAFE_INTEGER): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
  return Math.min(limit, max);
}
