import { Severity } from '@vigil/contracts';
import type { WebhookDelivery, WebhookRepository, WebhookSubscription } from '../../ports/store.js';
import { latestVersions, type ClickHouseDb, type Row } from '../clickhouse-db.js';
import { bool, limitOf, num, str, strArray } from '../rows.js';
import { sql, where, type Sql } from '../sql.js';

const SUBS = 'webhook_subscriptions';
const DELIVERIES = 'webhook_deliveries';
const SUB_COLUMNS = sql`id, tenant, url, secret, events, min_severity, enabled, created_at, updated_at, deleted`;
const DELIVERY_COLUMNS = sql`id, subscription_id, event_id, attempt, status, http_status, error, duration_ms, at`;
const DELIVERY_STATUSES = ['succeeded', 'failed', 'dead'] as const;

function subToRow(s: WebhookSubscription): Row {
  return {
    id: s.id, tenant: s.tenant, url: s.url, secret: s.secret, events: s.events, min_severity: s.minSeverity,
    enabled: s.enabled ? 1 : 0, created_at: s.createdAt, updated_at: s.updatedAt, deleted: s.deleted ? 1 : 0,
  };
}

function subFromRow(r: Row): WebhookSubscription {
  return {
    id: str(r, 'id'), tenant: str(r, 'tenant'), url: str(r, 'url'), secret: str(r, 'secret'), events: strArray(r, 'events'),
    minSeverity: Severity.parse(str(r, 'min_severity')), enabled: bool(r, 'enabled'), createdAt: num(r, 'created_at'),
    updatedAt: num(r, 'updated_at'), deleted: bool(r, 'deleted'),
  };
}

function deliveryToRow(d: WebhookDelivery): Row {
  return {
    id: d.id, subscription_id: d.subscriptionId, event_id: d.eventId, attempt: d.attempt, status: d.status,
    http_status: d.httpStatus, error: d.error, duration_ms: d.durationMs, at: d.at,
  };
}

function deliveryStatus(v: string): WebhookDelivery['status'] {
  const s = DELIVERY_STATUSES.find((x) => x === v);
  if (!s) throw new Error(`unknown webhook delivery status ${JSON.stringify(v)}`);
  return s;
}

function deliveryFromRow(r: Row): WebhookDelivery {
  return {
    id: str(r, 'id'), subscriptionId: str(r, 'subscription_id'), eventId: str(r, 'event_id'), attempt: num(r, 'attempt'),
    status: deliveryStatus(str(r, 'status')), httpStatus: num(r, 'http_status'), error: str(r, 'error'),
    durationMs: num(r, 'duration_ms'), at: num(r, 'at'),
  };
}

/**
 * Subscriptions: ReplacingMergeTree(updated_at) read through FINAL (latest `updatedAt` wins); `deleted` is a
 * tombstone: `getSubscription` still returns it, `listSubscriptions` leaves it out.
 * Deliveries: an append-only log, idempotent by id, newest first (ties by id).
 */
export class ClickHouseWebhookRepository implements WebhookRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async putSubscription(s: WebhookSubscription): Promise<void> {
    await this.db.insert(SUBS, [subToRow(s)]);
  }

  async getSubscription(id: string): Promise<WebhookSubscription | null> {
    const rows = await this.db.select(sql`SELECT ${SUB_COLUMNS} FROM ${this.db.table(SUBS)} FINAL WHERE id = ${id}`);
    return rows[0] ? subFromRow(rows[0]) : null;
  }

  async listSubscriptions(tenant?: string): Promise<WebhookSubscription[]> {
    const conditions: Sql[] = [sql`deleted = 0`];
    if (tenant !== undefined) conditions.push(sql`tenant = ${tenant}`);
    const rows = await this.db.select(sql`${latestVersions(this.db.table(SUBS), SUB_COLUMNS, conditions)}
ORDER BY created_at ASC, id ASC`);
    return rows.map(subFromRow);
  }

  async recordDelivery(d: WebhookDelivery): Promise<void> {
    await this.recordDeliveries([d]);
  }

  /** One INSERT (one part) for the whole batch. */
  async recordDeliveries(rows: readonly WebhookDelivery[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insert(DELIVERIES, rows.map(deliveryToRow));
  }

  async listDeliveries(f: { subscriptionId?: string; eventId?: string; status?: WebhookDelivery['status']; limit?: number }): Promise<WebhookDelivery[]> {
    const c: Sql[] = [];
    if (f.subscriptionId !== undefined) c.push(sql`subscription_id = ${f.subscriptionId}`);
    if (f.eventId !== undefined) c.push(sql`event_id = ${f.eventId}`);
    if (f.status !== undefined) c.push(sql`status = ${f.status}`);
    const rows = await this.db.select(sql`SELECT ${DELIVERY_COLUMNS} FROM ${this.db.table(DELIVERIES)}
${where(c)}
ORDER BY at DESC, id ASC
LIMIT 1 BY id
LIMIT ${limitOf(f.limit)}`);
    return rows.map(deliveryFromRow);
  }
}
