import type { ApiKeyRecord, ApiKeyRepository } from '../../ports/store.js';
import { latestVersions, type ClickHouseDb, type Row } from '../clickhouse-db.js';
import { num, numOrNull, str, strArray } from '../rows.js';
import { sql, type Sql } from '../sql.js';

const TABLE = 'api_keys';
const COLUMNS = sql`id, tenant, name, hash, prefix, scopes, role, allowed_ips, created_at, expires_at, revoked_at, last_used_at, updated_at`;

function toRow(k: ApiKeyRecord): Row {
  return {
    id: k.id, tenant: k.tenant, name: k.name, hash: k.hash, prefix: k.prefix, scopes: k.scopes, role: k.role,
    allowed_ips: k.allowedIps, created_at: k.createdAt, expires_at: k.expiresAt, revoked_at: k.revokedAt,
    last_used_at: k.lastUsedAt, updated_at: k.updatedAt,
  };
}

function fromRow(r: Row): ApiKeyRecord {
  return {
    id: str(r, 'id'), tenant: str(r, 'tenant'), name: str(r, 'name'), hash: str(r, 'hash'), prefix: str(r, 'prefix'),
    scopes: strArray(r, 'scopes'), role: str(r, 'role'), allowedIps: strArray(r, 'allowed_ips'),
    createdAt: num(r, 'created_at'), expiresAt: numOrNull(r, 'expires_at'), revokedAt: numOrNull(r, 'revoked_at'),
    lastUsedAt: numOrNull(r, 'last_used_at'), updatedAt: num(r, 'updated_at'),
  };
}

/** API keys: ReplacingMergeTree(updated_at) read through FINAL; the latest `updatedAt` wins (ties: last written). */
export class ClickHouseApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async put(key: ApiKeyRecord): Promise<void> {
    await this.db.insert(TABLE, [toRow(key)]);
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)} FINAL WHERE id = ${id}`);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** The hash is matched against the latest version only (a rotated hash no longer finds the key). */
  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const rows = await this.latest([sql`hash = ${hash}`], sql`ORDER BY updated_at DESC, id ASC LIMIT 1`);
    return rows[0] ?? null;
  }

  async list(tenant?: string): Promise<ApiKeyRecord[]> {
    return this.latest(tenant === undefined ? [] : [sql`tenant = ${tenant}`], sql`ORDER BY created_at ASC, id ASC`);
  }

  private async latest(conditions: Sql[], orderAndLimit: Sql): Promise<ApiKeyRecord[]> {
    const rows = await this.db.select(sql`${latestVersions(this.db.table(TABLE), COLUMNS, conditions)}
${orderAndLimit}`);
    return rows.map(fromRow);
  }
}
