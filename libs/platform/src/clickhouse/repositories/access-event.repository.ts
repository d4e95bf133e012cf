import { Readable } from 'node:stream';
import { LogFormat, type AccessEvent } from '@vigil/contracts';
import type { AccessEventFilter, AccessEventRepository } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { inList, sql, where, type Sql } from '../sql.js';

const TABLE = 'access_events';
const COLUMNS = sql`id, tenant, ts, format, client_ip, method, path, query, route, status, latency_ms, bytes_in, bytes_out,
  user_agent, api_version, tls, token_id, country, asn, request_id, host`;

/** Insert column order; tsvRow writes the fields in this order. */
const INSERT_COLUMNS: [string, ...string[]] = [
  'id', 'tenant', 'ts', 'format', 'client_ip', 'method', 'path', 'query', 'route', 'status', 'latency_ms', 'bytes_in',
  'bytes_out', 'user_agent', 'api_version', 'tls', 'token_id', 'country', 'asn', 'request_id', 'host',
];

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A String field of TabSeparated: backslash, tab, line feed, carriage return and NUL escaped, everything else verbatim. */
export function tsvString(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(TSV_SPECIAL_ALL, (c) => TSV_ESCAPES[c] ?? c) : s;
}

/** An unsigned integer field (UInt16/32/64): refuses what would not read back as the same integer. */
function tsvUInt(n: number, column: string): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`access_events.${column}: expected a non-negative safe integer (got ${n})`);
  return String(n);
}

function tsvFloat(n: number, column: string): string {
  if (!Number.isFinite(n)) throw new RangeError(`access_events.${column}: expected a finite number (got ${n})`);
  return String(n);
}

/**
 * One TabSeparated row (with its line feed) in INSERT_COLUMNS order. TSV is the cheapest text format for both
 * sides (no per-row object, no key per field, the server reads fields positionally) and means the same on 18.16
 * and 24.x.
 */
export function tsvRow(e: AccessEvent): string {
  return (
    tsvString(e.id) + '\t' + tsvString(e.tenant) + '\t' + tsvUInt(e.ts, 'ts') + '\t' + tsvString(e.format) + '\t' +
    tsvString(e.clientIp) + '\t' + tsvString(e.method) + '\t' + tsvString(e.path) + '\t' + tsvString(e.query) + '\t' +
    tsvString(e.route) + '\t' + tsvUInt(e.status, 'status') + '\t' + tsvFloat(e.latencyMs, 'latency_ms') + '\t' +
    tsvUInt(e.bytesIn, 'bytes_in') + '\t' + tsvUInt(e.bytesOut, 'bytes_out') + '\t' + tsvString(e.userAgent) + '\t' +
    tsvString(e.apiVersion) + '\t' + tsvString(e.tls) + '\t' + tsvString(e.tokenId) + '\t' + tsvString(e.country) + '\t' +
    tsvUInt(e.asn, 'asn') + '\t' + tsvString(e.requestId) + '\t' + tsvString(e.host) + '\n'
  );
}

/**
 * The rows of one INSERT as UTF-8, each row written straight into one growing buffer: about three times cheaper than
 * concatenating a multi-MiB string and encoding it at the end (a deep rope to flatten).
 */
export function tsvBody(events: readonly AccessEvent[]): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(4096, events.length * 640));
  let used = 0;
  for (const e of events) {
    const row = tsvRow(e);
    // UTF-8 takes at most 3 bytes per UTF-16 code unit
    if (used + row.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, used + row.length * 3));
      buf.copy(bigger, 0, 0, used);
      buf = bigger;
    }
    used += buf.write(row, used, 'utf8');
  }
  return buf.subarray(0, used);
}

function fromRow(r: Row): AccessEvent {
  return {
    v: 1, id: str(r, 'id'), tenant: str(r, 'tenant'), ts: num(r, 'ts'), format: LogFormat.parse(str(r, 'format')),
    clientIp: str(r, 'client_ip'), method: str(r, 'method'), path: str(r, 'path'), query: str(r, 'query'),
    route: str(r, 'route'), status: num(r, 'status'), latencyMs: num(r, 'latency_ms'), bytesIn: num(r, 'bytes_in'),
    bytesOut: num(r, 'bytes_out'), userAgent: str(r, 'user_agent'), apiVersion: str(r, 'api_version'), tls: str(r, 'tls'),
    tokenId: str(r, 'token_id'), country: str(r, 'country'), asn: num(r, 'asn'), requestId: str(r, 'request_id'),
    host: str(r, 'host'),
  };
}

/** Conditions on columns that never change for a given id, so filtering before de-duplication is exact. */
function conditions(f: AccessEventFilter): Sql[] {
  const c: Sql[] = [];
  if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
  if (f.clientIp !== undefined) c.push(sql`client_ip = ${f.clientIp}`);
  if (f.tokenId !== undefined) c.push(sql`token_id = ${f.tokenId}`);
  if (f.route !== undefined) c.push(sql`route = ${f.route}`);
  if (f.ids !== undefined) c.push(sql`id IN ${inList(f.ids)}`);
  if (f.from !== undefined) c.push(sql`ts >= ${f.from}`);
  if (f.to !== undefined) c.push(sql`ts < ${f.to}`);
  return c;
}

/** Access events: immutable, idempotent by id. Time ranges are [from, to) on ts; lists are newest first (ties by id). */
export class ClickHouseAccessEventRepository implements AccessEventRepository {
  constructor(private readonly db: ClickHouseDb) {}

  /** One TabSeparated INSERT per call (the ingest hot path: see tsvRow); an empty batch is a no-op. */
  async insert(events: AccessEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.client.insert({
      table: this.db.table(TABLE).text,
      columns: INSERT_COLUMNS,
      values: Readable.from([tsvBody(events)], { objectMode: false }),
      format: 'TabSeparated',
    });
  }

  async list(filter: AccessEventFilter): Promise<AccessEvent[]> {
    if (filter.ids?.length === 0) return [];
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)}
${where(conditions(filter))}
ORDER BY ts DESC, id ASC
LIMIT 1 BY id
LIMIT ${limitOf(filter.limit)}`);
    return rows.map(fromRow);
  }

  async count(filter: AccessEventFilter): Promise<number> {
    if (filter.ids?.length === 0) return 0;
    const rows = await this.db.select(sql`SELECT uniqExact(id) AS n FROM ${this.db.table(TABLE)} ${where(conditions(filter))}`);
    return rows[0] ? num(rows[0], 'n') : 0;
  }
}
