import { LogFormat, type AccessEvent } from '@vigil/contracts';
import type { AccessEventFilter, AccessEventRepository } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { limitOf, num, str } from '../rows.js';
import { inList, sql, where, type Sql } from '../sql.js';

const TABLE = 'access_events';
const COLUMNS = sql`id, tenant, ts, format, client_ip, method, path, query, route, status, latency_ms, bytes_in, bytes_out,
  user_agent, api_version, tls, token_id, country, asn, request_id, host`;

function toRow(e: AccessEvent): Row {
  return {
    id: e.id, tenant: e.tenant, ts: e.ts, format: e.format, client_ip: e.clientIp, method: e.method, path: e.path,
    query: e.query, route: e.route, status: e.status, latency_ms: e.latencyMs, bytes_in: e.bytesIn, bytes_out: e.bytesOut,
    user_agent: e.userAgent, api_version: e.apiVersion, tls: e.tls, token_id: e.tokenId, country: e.country, asn: e.asn,
    request_id: e.requestId, host: e.host,
  };
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

  async insert(events: AccessEvent[]): Promise<void> {
    await this.db.insert(TABLE, events.map(toRow));
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
