import { Readable } from 'node:stream';
import { LogFormat, type AccessEvent } from '@vigil/contracts';
import type { AccessEventFilter, AccessEventRepository } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { inList, sql, where, type Sql } from '../sql.js';

const TABLE = 'access_events';
const COLUMNS = sql`id, tenant, ts, format, client_ip, method, path, query, route, status, latency_ms, bytes_in, bytes_out,
  user_agent, api_version, tls, token_id, country, asn, request_id, host`;

/** Insert column order; rowBinaryBody writes the fields in this order. */
const INSERT_COLUMNS = [
  'id', 'tenant', 'ts', 'format', 'client_ip', 'method', 'path', 'query', 'route', 'status', 'latency_ms', 'bytes_in',
  'bytes_out', 'user_agent', 'api_version', 'tls', 'token_id', 'country', 'asn', 'request_id', 'host',
].join(', ');

/** Strings shorter than this are copied by a loop, longer ones by Buffer.write (native; faster from ~24 characters). */
const SHORT_STRING = 24;

/** A growing buffer of RowBinary values: little-endian numbers, strings as a LEB128 byte length then UTF-8. */
class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  string(s: string): void {
    const n = s.length;
    if (n < SHORT_STRING) {
      // short ASCII, the common case for most fields: bytes copied here (a Buffer.write costs more than this loop
      // below ~24 characters); the length fits in one byte
      this.ensure(n + 1);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: room for that and its length; written after a one-byte length,
    // moved right when the length takes more (128 bytes and up)
    this.ensure(n * 3 + 5);
    const start = this.pos + 1;
    const written = this.buf.write(s, start, 'utf8');
    const size = varUIntSize(written);
    if (size > 1) this.buf.copyWithin(this.pos + size, start, start + written);
    this.varUInt(written);
    this.pos += written;
  }

  /** UInt64 from a safe integer; refuses what would not read back as the same integer. */
  uint64(v: number, column: string): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`access_events.${column}: expected a non-negative safe integer (got ${v})`);
    this.ensure(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  uint32(v: number, column: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`access_events.${column}: expected a UInt32 (got ${v})`);
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  uint16(v: number, column: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`access_events.${column}: expected a UInt16 (got ${v})`);
    this.ensure(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  float64(v: number, column: string): void {
    if (!Number.isFinite(v)) throw new RangeError(`access_events.${column}: expected a finite number (got ${v})`);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  private varUInt(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}

function varUIntSize(v: number): number {
  let n = 1;
  for (; v >= 0x80; n++) v = Math.floor(v / 0x80);
  return n;
}

/**
 * The rows of one INSERT in RowBinary, in INSERT_COLUMNS order, written straight into one growing buffer. RowBinary
 * costs both sides less than TabSeparated (no escaping, no number formatting or parsing; measured here about a
 * third less client CPU per row) and means the same on 18.16 and 24.x. Numbers that would not read back as the
 * same value are refused (RangeError naming the column).
 */
export function rowBinaryBody(events: readonly AccessEvent[]): Buffer {
  const w = new RowBinaryWriter(Math.max(4096, events.length * 640));
  for (const e of events) {
    w.string(e.id);
    w.string(e.tenant);
    w.uint64(e.ts, 'ts');
    w.string(e.format);
    w.string(e.clientIp);
    w.string(e.method);
    w.string(e.path);
    w.string(e.query);
    w.string(e.route);
    w.uint16(e.status, 'status');
    w.float64(e.latencyMs, 'latency_ms');
    w.uint64(e.bytesIn, 'bytes_in');
    w.uint64(e.bytesOut, 'bytes_out');
    w.string(e.userAgent);
    w.string(e.apiVersion);
    w.string(e.tls);
    w.string(e.tokenId);
    w.string(e.country);
    w.uint32(e.asn, 'asn');
    w.string(e.requestId);
    w.string(e.host);
  }
  return w.bytes();
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

  /**
   * One RowBinary INSERT per call (the ingest hot path: see rowBinaryBody); an empty batch is a no-op. The body is
   * built before the request starts, so a RangeError leaves nothing half-sent.
   */
  async insert(events: AccessEvent[]): Promise<void> {
    if (events.length === 0) return;
    const body = rowBinaryBody(events);
    const result = await this.db.client.exec({
      query: `INSERT INTO ${this.db.table(TABLE).text} (${INSERT_COLUMNS}) FORMAT RowBinary`,
      values: Readable.from([body], { objectMode: false }),
    });
    // the answer of an INSERT is empty; reading it to the end hands the socket back to the keep-alive pool
    for await (const _ of result.stream) void _;
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
