import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SEVERITY_RANK } from '@vigil/contracts';
import type { AccessEvent, Anomaly, DeadLetter, EntityType, Incident, IncidentStatus, Severity, Silence, StreamEventRecord } from '@vigil/contracts';
import { systemClock, type Clock } from '../clock/clock.js';
import type { DependencyHealth } from '../ports/event-bus.js';
import type {
  AuditRepository,
  CheckpointRepository,
  OutboxRepository,
  AccessEventFilter,
  AccessEventRepository,
  AnomalyFilter,
  AnomalyRepository,
  ApiKeyRecord,
  ApiKeyRepository,
  DeadLetterRepository,
  EntityAnomalyCount,
  IncidentFilter,
  IncidentRepository,
  Page,
  SilenceFilter,
  SilenceRepository,
  StatsRepository,
  Store,
  StreamEventRepository,
  TimeRange,
  WebhookDelivery,
  WebhookRepository,
  WebhookSubscription,
} from '../ports/store.js';
import { decodeIncidentCursor, encodeIncidentCursor } from './incident-cursor.js';
import { SQLITE_MIGRATIONS, SQLITE_TIME_SERIES } from './sqlite-migrations.js';
import { SqliteAuditRepository } from './sqlite-audit.repository.js';
import { SqliteCheckpointRepository } from './sqlite-checkpoint.repository.js';
import { SqliteOutboxRepository } from './sqlite-outbox.repository.js';

/**
 * Store adapter for standalone mode: one SQLite file (better-sqlite3, synchronous; results wrapped in promises).
 *
 * - WAL journal, so other connections to the same file (the SQLite work queue) read and write alongside.
 * - Immutable records (events, anomalies, deliveries, dead letters) are `INSERT OR IGNORE` by id;
 *   mutable ones keep the highest `revision` (incidents) or `updatedAt` (keys, subscriptions); on a tie the
 *   last write wins, as ClickHouse's ReplacingMergeTree does.
 * - Semantics shared with the ClickHouse adapter are pinned by `storeContract` in @vigil/testing:
 *   time ranges are [from, to); time-series lists are newest first (ties by id); incidents page by (lastSeen, id).
 */
export interface SqliteStoreOptions {
  /** Database file; its parent directory is created when missing. `:memory:` works for throwaway stores. */
  path: string;
  clock?: Clock;
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

const DAY_MS = 86_400_000;
const DEFAULT_LIST_LIMIT = 1000;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

type Params = Record<string, string | number | null>;

/** Prepared statements cached by SQL text; named parameters only. */
class Sql {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  constructor(readonly db: Database.Database) {}

  run(sql: string, params: Params = {}): Database.RunResult {
    return this.statement(sql).run(params);
  }
  all<R>(sql: string, params: Params = {}): R[] {
    return this.statement(sql).all(params) as R[];
  }
  get<R>(sql: string, params: Params = {}): R | undefined {
    return this.statement(sql).get(params) as R | undefined;
  }
  /** Runs `fn` in one transaction (BEGIN IMMEDIATE: take the write lock up front, no upgrade deadlocks). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
  clear(): void {
    this.statements.clear();
  }

  private statement(sql: string): Database.Statement<unknown[], unknown> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** AND-joined WHERE clause built from optional filters. */
class Where {
  private readonly clauses: string[] = [];
  readonly params: Params = {};
  add(clause: string, params: Params = {}): this {
    this.clauses.push(clause);
    Object.assign(this.params, params);
    return this;
  }
  toString(): string {
    return this.clauses.length ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

function limitOf(limit: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
  return Math.min(limit, max);
}

function timeRange(w: Where, column: string, r: TimeRange): void {
  if (r.from !== undefined) w.add(`${column} >= @from`, { from: r.from });
  if (r.to !== undefined) w.add(`${column} < @to`, { to: r.to });
}

function idsIn(w: Where, ids: string[] | undefined): void {
  if (ids !== undefined) w.add('id IN (SELECT value FROM json_each(@ids))', { ids: JSON.stringify(ids) });
}

const bool = (b: boolean): number => (b ? 1 : 0);
const json = (v: unknown): string => JSON.stringify(v);
function parse<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** `INSERT … ON CONFLICT(id) DO UPDATE` that only replaces when `versionColumn` is not lower. */
function upsertSql(table: string, columns: readonly string[], versionColumn: string): string {
  const names = columns.join(', ');
  const values = columns.map((c) => `@${c}`).join(', ');
  const set = columns.filter((c) => c !== 'id').map((c) => `${c} = excluded.${c}`).join(', ');
  return `INSERT INTO ${table} (${names}) VALUES (${values}) ON CONFLICT (id) DO UPDATE SET ${set} WHERE excluded.${versionColumn} >= ${table}.${versionColumn}`;
}

function insertIgnoreSql(table: string, columns: readonly string[]): string {
  return `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

// ---------------------------------------------------------------- access events

interface AccessEventRow {
  id: string; tenant: string; ts: number; format: AccessEvent['format']; client_ip: string; method: string; path: string;
  query: string; route: string; status: number; latency_ms: number; bytes_in: number; bytes_out: number; user_agent: string;
  api_version: string; tls: string; token_id: string; country: string; asn: number; request_id: string; host: string;
}

const ACCESS_EVENT_COLUMNS = [
  'id', 'tenant', 'ts', 'format', 'client_ip', 'method', 'path', 'query', 'route', 'status', 'latency_ms', 'bytes_in',
  'bytes_out', 'user_agent', 'api_version', 'tls', 'token_id', 'country', 'asn', 'request_id', 'host',
] as const;

function accessEventParams(e: AccessEvent): Record<(typeof ACCESS_EVENT_COLUMNS)[number], string | number> {
  return {
    id: e.id, tenant: e.tenant, ts: e.ts, format: e.format, client_ip: e.clientIp, method: e.method, path: e.path,
    query: e.query, route: e.route, status: e.status, latency_ms: e.latencyMs, bytes_in: e.bytesIn, bytes_out: e.bytesOut,
    user_agent: e.userAgent, api_version: e.apiVersion, tls: e.tls, token_id: e.tokenId, country: e.country, asn: e.asn,
    request_id: e.requestId, host: e.host,
  };
}

function accessEventFromRow(r: AccessEventRow): AccessEvent {
  return {
    v: 1, id: r.id, tenant: r.tenant, ts: r.ts, format: r.format, clientIp: r.client_ip, method: r.method, path: r.path,
    query: r.query, route: r.route, status: r.status, latencyMs: r.latency_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out,
    userAgent: r.user_agent, apiVersion: r.api_version, tls: r.tls, tokenId: r.token_id, country: r.country, asn: r.asn,
    requestId: r.request_id, host: r.host,
  };
}

class SqliteAccessEvents implements AccessEventRepository {
  private readonly insertSql = insertIgnoreSql('access_events', ACCESS_EVENT_COLUMNS);
  constructor(private readonly sql: Sql) {}

  async insert(events: AccessEvent[]): Promise<void> {
    if (!events.length) return;
    this.sql.tx(() => {
      for (const e of events) this.sql.run(this.insertSql, accessEventParams(e));
    });
  }

  async list(filter: AccessEventFilter): Promise<AccessEvent[]> {
    const w = this.where(filter);
    const limit = limitOf(filter.limit, DEFAULT_LIST_LIMIT);
    const rows = this.sql.all<AccessEventRow>(`SELECT * FROM access_events${w} ORDER BY ts DESC, id ASC LIMIT @limit`, { ...w.params, limit });
    return rows.map(accessEventFromRow);
  }

  async count(filter: AccessEventFilter): Promise<number> {
    const w = this.where(filter);
    return this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM access_events${w}`, w.params)?.n ?? 0;
  }

  private where(f: AccessEventFilter): Where {
    const w = new Where();
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    timeRange(w, 'ts', f);
    if (f.clientIp !== undefined) w.add('client_ip = @clientIp', { clientIp: f.clientIp });
    if (f.tokenId !== undefined) w.add('token_id = @tokenId', { tokenId: f.tokenId });
    if (f.route !== undefined) w.add('route = @route', { route: f.route });
    idsIn(w, f.ids);
    return w;
  }
}

// ---------------------------------------------------------------- anomalies

interface AnomalyRow {
  id: string; tenant: string; detector: string; entity_type: EntityType; entity: string; metric: string;
  window_start: number; window_end: number; detected_at: number; early: number; observed: number; expected: number;
  lower: number; upper: number; score: number; severity: Severity; severity_rank: number; explanation: string;
  contributors: string; sample_event_ids: string;
}

const ANOMALY_COLUMNS = [
  'id', 'tenant', 'detector', 'entity_type', 'entity', 'metric', 'window_start', 'window_end', 'detected_at', 'early',
  'observed', 'expected', 'lower', 'upper', 'score', 'severity', 'severity_rank', 'explanation', 'contributors',
  'sample_event_ids',
] as const;

function anomalyParams(a: Anomaly): Record<(typeof ANOMALY_COLUMNS)[number], string | number> {
  return {
    id: a.id, tenant: a.tenant, detector: a.detector, entity_type: a.entityType, entity: a.entity, metric: a.metric,
    window_start: a.windowStart, window_end: a.windowEnd, detected_at: a.detectedAt, early: bool(a.early),
    observed: a.observed, expected: a.expected, lower: a.lower, upper: a.upper, score: a.score, severity: a.severity,
    severity_rank: SEVERITY_RANK[a.severity], explanation: a.explanation, contributors: json(a.contributors),
    sample_event_ids: json(a.sampleEventIds),
  };
}

function anomalyFromRow(r: AnomalyRow): Anomaly {
  return {
    v: 1, id: r.id, tenant: r.tenant, detector: r.detector, entityType: r.entity_type, entity: r.entity, metric: r.metric,
    windowStart: r.window_start, windowEnd: r.window_end, detectedAt: r.detected_at, early: r.early === 1,
    observed: r.observed, expected: r.expected, lower: r.lower, upper: r.upper, score: r.score, severity: r.severity,
    explanation: r.explanation, contributors: parse<Anomaly['contributors']>(r.contributors),
    sampleEventIds: parse<string[]>(r.sample_event_ids),
  };
}

class SqliteAnomalies implements AnomalyRepository {
  private readonly insertSql = insertIgnoreSql('anomalies', ANOMALY_COLUMNS);
  constructor(private readonly sql: Sql) {}

  async insert(anomalies: Anomaly[]): Promise<void> {
    if (!anomalies.length) return;
    this.sql.tx(() => {
      for (const a of anomalies) this.sql.run(this.insertSql, anomalyParams(a));
    });
  }

  async get(id: string): Promise<Anomaly | null> {
    const row = this.sql.get<AnomalyRow>('SELECT * FROM anomalies WHERE id = @id', { id });
    return row ? anomalyFromRow(row) : null;
  }

  async list(f: AnomalyFilter): Promise<Anomaly[]> {
    const w = new Where();
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    timeRange(w, 'detected_at', f);
    if (f.detector !== undefined) w.add('detector = @detector', { detector: f.detector });
    if (f.entityType !== undefined) w.add('entity_type = @entityType', { entityType: f.entityType });
    if (f.entity !== undefined) w.add('entity = @entity', { entity: f.entity });
    if (f.minSeverity !== undefined) w.add('severity_rank >= @minRank', { minRank: SEVERITY_RANK[f.minSeverity] });
    idsIn(w, f.ids);
    const limit = limitOf(f.limit, DEFAULT_LIST_LIMIT);
    const rows = this.sql.all<AnomalyRow>(`SELECT * FROM anomalies${w} ORDER BY detected_at DESC, id ASC LIMIT @limit`, { ...w.params, limit });
    return rows.map(anomalyFromRow);
  }
}

// ---------------------------------------------------------------- incidents

interface IncidentRow {
  id: string; tenant: string; status: IncidentStatus; severity: Severity; severity_rank: number; title: string;
  entity_type: EntityType; entity: string; related: string; detectors: string; anomaly_ids: string; anomaly_count: number;
  max_score: number; explanation: string; first_seen: number; last_seen: number; created_at: number; updated_at: number;
  resolved_at: number | null; history: string; revision: number;
}

const INCIDENT_COLUMNS = [
  'id', 'tenant', 'status', 'severity', 'severity_rank', 'title', 'entity_type', 'entity', 'related', 'detectors',
  'anomaly_ids', 'anomaly_count', 'max_score', 'explanation', 'first_seen', 'last_seen', 'created_at', 'updated_at',
  'resolved_at', 'history', 'revision',
] as const;

function incidentParams(i: Incident): Record<(typeof INCIDENT_COLUMNS)[number], string | number | null> {
  return {
    id: i.id, tenant: i.tenant, status: i.status, severity: i.severity, severity_rank: SEVERITY_RANK[i.severity],
    title: i.title, entity_type: i.entityType, entity: i.entity, related: json(i.related), detectors: json(i.detectors),
    anomaly_ids: json(i.anomalyIds), anomaly_count: i.anomalyCount, max_score: i.maxScore, explanation: i.explanation,
    first_seen: i.firstSeen, last_seen: i.lastSeen, created_at: i.createdAt, updated_at: i.updatedAt,
    resolved_at: i.resolvedAt, history: json(i.history), revision: i.revision,
  };
}

function incidentFromRow(r: IncidentRow): Incident {
  return {
    v: 1, id: r.id, tenant: r.tenant, status: r.status, severity: r.severity, title: r.title, entityType: r.entity_type,
    entity: r.entity, related: parse<Incident['related']>(r.related), detectors: parse<string[]>(r.detectors),
    anomalyIds: parse<string[]>(r.anomaly_ids), anomalyCount: r.anomaly_count, maxScore: r.max_score,
    explanation: r.explanation, firstSeen: r.first_seen, lastSeen: r.last_seen, createdAt: r.created_at,
    updatedAt: r.updated_at, resolvedAt: r.resolved_at, history: parse<Incident['history']>(r.history), revision: r.revision,
  };
}

class SqliteIncidents implements IncidentRepository {
  private readonly upsertSql = upsertSql('incidents', INCIDENT_COLUMNS, 'revision');
  constructor(private readonly sql: Sql) {}

  async upsert(incident: Incident): Promise<void> {
    this.sql.run(this.upsertSql, incidentParams(incident));
  }

  async upsertMany(incidents: Incident[]): Promise<void> {
    if (!incidents.length) return;
    this.sql.tx(() => {
      for (const i of incidents) this.sql.run(this.upsertSql, incidentParams(i));
    });
  }

  async recentOf(f: { tenant: string; entities: { type: EntityType; value: string }[]; limit: number }): Promise<Incident[]> {
    if (!f.entities.length) return [];
    const limit = limitOf(f.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const values = [...new Set(f.entities.map((e) => e.value))];
    const params: Record<string, string | number> = { tenant: f.tenant, limit };
    values.forEach((v, k) => (params[`v${k}`] = v));
    const rows = this.sql.all<IncidentRow>(
      `SELECT * FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY entity_type, entity ORDER BY last_seen DESC, id DESC) AS recent
         FROM incidents WHERE tenant = @tenant AND entity IN (${values.map((_, k) => `@v${k}`).join(', ')})
       ) WHERE recent <= @limit ORDER BY entity_type, entity, last_seen DESC, id DESC`,
      params,
    );
    const wanted = new Set(f.entities.map((e) => `${e.type}\0${e.value}`));
    return rows.map(incidentFromRow).filter((i) => wanted.has(`${i.entityType}\0${i.entity}`));
  }

  async get(id: string): Promise<Incident | null> {
    const row = this.sql.get<IncidentRow>('SELECT * FROM incidents WHERE id = @id', { id });
    return row ? incidentFromRow(row) : null;
  }

  /**
   * Keyset pagination ordered by (lastSeen, id), descending by default. A time range selects incidents
   * active during it: lastSeen >= from and firstSeen < to.
   */
  async list(f: IncidentFilter): Promise<Page<Incident>> {
    const order = f.order ?? 'desc';
    const limit = limitOf(f.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const w = new Where();
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    if (f.status !== undefined) w.add('status = @status', { status: f.status });
    if (f.minSeverity !== undefined) w.add('severity_rank >= @minRank', { minRank: SEVERITY_RANK[f.minSeverity] });
    if (f.detector !== undefined) w.add('EXISTS (SELECT 1 FROM json_each(detectors) WHERE value = @detector)', { detector: f.detector });
    if (f.entityType !== undefined) w.add('entity_type = @entityType', { entityType: f.entityType });
    if (f.entity !== undefined) w.add('entity = @entity', { entity: f.entity });
    if (f.from !== undefined) w.add('last_seen >= @from', { from: f.from });
    if (f.to !== undefined) w.add('first_seen < @to', { to: f.to });
    if (f.cursor !== undefined) {
      const c = decodeIncidentCursor(f.cursor);
      w.add(`(last_seen, id) ${order === 'asc' ? '>' : '<'} (@cursorLastSeen, @cursorId)`, { cursorLastSeen: c.lastSeen, cursorId: c.id });
    }
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    const rows = this.sql.all<IncidentRow>(`SELECT * FROM incidents${w} ORDER BY last_seen ${dir}, id ${dir} LIMIT @limit`, {
      ...w.params,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit).map(incidentFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeIncidentCursor(last) : null };
  }
}

// ---------------------------------------------------------------- api keys

interface ApiKeyRow {
  id: string; tenant: string; name: string; hash: string; prefix: string; scopes: string; role: string; allowed_ips: string;
  created_at: number; expires_at: number | null; revoked_at: number | null; last_used_at: number | null; updated_at: number;
}

const API_KEY_COLUMNS = [
  'id', 'tenant', 'name', 'hash', 'prefix', 'scopes', 'role', 'allowed_ips', 'created_at', 'expires_at', 'revoked_at',
  'last_used_at', 'updated_at',
] as const;

function apiKeyFromRow(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id, tenant: r.tenant, name: r.name, hash: r.hash, prefix: r.prefix, scopes: parse<string[]>(r.scopes),
    role: r.role, allowedIps: parse<string[]>(r.allowed_ips), createdAt: r.created_at, expiresAt: r.expires_at,
    revokedAt: r.revoked_at, lastUsedAt: r.last_used_at, updatedAt: r.updated_at,
  };
}

class SqliteApiKeys implements ApiKeyRepository {
  private readonly upsertSql = upsertSql('api_keys', API_KEY_COLUMNS, 'updated_at');
  constructor(private readonly sql: Sql) {}

  async put(k: ApiKeyRecord): Promise<void> {
    this.sql.run(this.upsertSql, {
      id: k.id, tenant: k.tenant, name: k.name, hash: k.hash, prefix: k.prefix, scopes: json(k.scopes), role: k.role,
      allowed_ips: json(k.allowedIps), created_at: k.createdAt, expires_at: k.expiresAt, revoked_at: k.revokedAt,
      last_used_at: k.lastUsedAt, updated_at: k.updatedAt,
    });
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const row = this.sql.get<ApiKeyRow>('SELECT * FROM api_keys WHERE id = @id', { id });
    return row ? apiKeyFromRow(row) : null;
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = this.sql.get<ApiKeyRow>('SELECT * FROM api_keys WHERE hash = @hash ORDER BY updated_at DESC, id ASC LIMIT 1', { hash });
    return row ? apiKeyFromRow(row) : null;
  }

  async list(tenant?: string): Promise<ApiKeyRecord[]> {
    const rows =
      tenant === undefined
        ? this.sql.all<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at ASC, id ASC')
        : this.sql.all<ApiKeyRow>('SELECT * FROM api_keys WHERE tenant = @tenant ORDER BY created_at ASC, id ASC', { tenant });
    return rows.map(apiKeyFromRow);
  }
}

// ---------------------------------------------------------------- webhooks

interface SubscriptionRow {
  id: string; tenant: string; url: string; secret: string; events: string; min_severity: Severity; enabled: number;
  created_at: number; updated_at: number; deleted: number;
}

interface DeliveryRow {
  id: string; subscription_id: string; event_id: string; attempt: number; status: WebhookDelivery['status'];
  http_status: number; error: string; duration_ms: number; at: number;
}

const SUBSCRIPTION_COLUMNS = ['id', 'tenant', 'url', 'secret', 'events', 'min_severity', 'enabled', 'created_at', 'updated_at', 'deleted'] as const;
const DELIVERY_COLUMNS = ['id', 'subscription_id', 'event_id', 'attempt', 'status', 'http_status', 'error', 'duration_ms', 'at'] as const;

function subscriptionFromRow(r: SubscriptionRow): WebhookSubscription {
  return {
    id: r.id, tenant: r.tenant, url: r.url, secret: r.secret, events: parse<string[]>(r.events), minSeverity: r.min_severity,
    enabled: r.enabled === 1, createdAt: r.created_at, updatedAt: r.updated_at, deleted: r.deleted === 1,
  };
}

function deliveryFromRow(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id, subscriptionId: r.subscription_id, eventId: r.event_id, attempt: r.attempt, status: r.status,
    httpStatus: r.http_status, error: r.error, durationMs: r.duration_ms, at: r.at,
  };
}

class SqliteWebhooks implements WebhookRepository {
  private readonly upsertSql = upsertSql('webhook_subscriptions', SUBSCRIPTION_COLUMNS, 'updated_at');
  private readonly deliverySql = insertIgnoreSql('webhook_deliveries', DELIVERY_COLUMNS);
  constructor(private readonly sql: Sql) {}

  async putSubscription(s: WebhookSubscription): Promise<void> {
    this.sql.run(this.upsertSql, {
      id: s.id, tenant: s.tenant, url: s.url, secret: s.secret, events: json(s.events), min_severity: s.minSeverity,
      enabled: bool(s.enabled), created_at: s.createdAt, updated_at: s.updatedAt, deleted: bool(s.deleted),
    });
  }

  /** The latest version, including a soft-deleted one (`deleted: true`). */
  async getSubscription(id: string): Promise<WebhookSubscription | null> {
    const row = this.sql.get<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE id = @id', { id });
    return row ? subscriptionFromRow(row) : null;
  }

  /** Subscriptions that are not deleted (enabled or not), oldest first. */
  async listSubscriptions(tenant?: string): Promise<WebhookSubscription[]> {
    const rows =
      tenant === undefined
        ? this.sql.all<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE deleted = 0 ORDER BY created_at ASC, id ASC')
        : this.sql.all<SubscriptionRow>(
            'SELECT * FROM webhook_subscriptions WHERE deleted = 0 AND tenant = @tenant ORDER BY created_at ASC, id ASC',
            { tenant },
          );
    return rows.map(subscriptionFromRow);
  }

  async recordDelivery(d: WebhookDelivery): Promise<void> {
    await this.recordDeliveries([d]);
  }

  /** One transaction for the whole batch. */
  async recordDeliveries(rows: readonly WebhookDelivery[]): Promise<void> {
    if (rows.length === 0) return;
    this.sql.tx(() => {
      for (const d of rows) {
        this.sql.run(this.deliverySql, {
          id: d.id, subscription_id: d.subscriptionId, event_id: d.eventId, attempt: d.attempt, status: d.status,
          http_status: d.httpStatus, error: d.error, duration_ms: d.durationMs, at: d.at,
        });
      }
    });
  }

  async listDeliveries(f: { subscriptionId?: string; eventId?: string; status?: WebhookDelivery['status']; limit?: number }): Promise<WebhookDelivery[]> {
    const w = new Where();
    if (f.subscriptionId !== undefined) w.add('subscription_id = @subscriptionId', { subscriptionId: f.subscriptionId });
    if (f.eventId !== undefined) w.add('event_id = @eventId', { eventId: f.eventId });
    if (f.status !== undefined) w.add('status = @status', { status: f.status });
    const limit = limitOf(f.limit, DEFAULT_LIST_LIMIT);
    const rows = this.sql.all<DeliveryRow>(`SELECT * FROM webhook_deliveries${w} ORDER BY at DESC, id ASC LIMIT @limit`, { ...w.params, limit });
    return rows.map(deliveryFromRow);
  }
}

// ---------------------------------------------------------------- dead letters

interface DeadLetterRow { id: string; tenant: string; received_at: number; source: string; reason: string; raw: string }
const DEAD_LETTER_COLUMNS = ['id', 'tenant', 'received_at', 'source', 'reason', 'raw'] as const;

class SqliteDeadLetters implements DeadLetterRepository {
  private readonly insertSql = insertIgnoreSql('dead_letters', DEAD_LETTER_COLUMNS);
  constructor(private readonly sql: Sql) {}

  async insert(records: DeadLetter[]): Promise<void> {
    if (!records.length) return;
    this.sql.tx(() => {
      for (const d of records) {
        this.sql.run(this.insertSql, { id: d.id, tenant: d.tenant, received_at: d.receivedAt, source: d.source, reason: d.reason, raw: d.raw });
      }
    });
  }

  /** Newest first; `reason` matches as a case-sensitive substring. */
  async list(f: TimeRange & { tenant?: string; reason?: string; limit?: number }): Promise<DeadLetter[]> {
    const w = this.where(f);
    if (f.reason !== undefined) w.add('instr(reason, @reason) > 0', { reason: f.reason });
    const limit = limitOf(f.limit, DEFAULT_LIST_LIMIT);
    const rows = this.sql.all<DeadLetterRow>(`SELECT * FROM dead_letters${w} ORDER BY received_at DESC, id ASC LIMIT @limit`, { ...w.params, limit });
    return rows.map((r) => ({ v: 1, id: r.id, tenant: r.tenant, receivedAt: r.received_at, source: r.source, reason: r.reason, raw: r.raw }));
  }

  async count(f: TimeRange & { tenant?: string }): Promise<number> {
    const w = this.where(f);
    return this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM dead_letters${w}`, w.params)?.n ?? 0;
  }

  private where(f: TimeRange & { tenant?: string }): Where {
    const w = new Where();
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    timeRange(w, 'received_at', f);
    return w;
  }
}

// ---------------------------------------------------------------- silences, live-event log, stats (0003_alerting)

interface SilenceRow {
  id: string; tenant: string; kind: Silence['kind']; matchers: string; starts_at: number; ends_at: number; reason: string;
  created_by: string; created_at: number; updated_at: number; deleted: number;
}
const SILENCE_COLUMNS = ['id', 'tenant', 'kind', 'matchers', 'starts_at', 'ends_at', 'reason', 'created_by', 'created_at', 'updated_at', 'deleted'] as const;

function silenceFromRow(r: SilenceRow): Silence {
  return {
    v: 1, id: r.id, tenant: r.tenant, kind: r.kind, matchers: parse<Silence['matchers']>(r.matchers), startsAt: r.starts_at,
    endsAt: r.ends_at, reason: r.reason, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
    deleted: r.deleted === 1,
  };
}

class SqliteSilences implements SilenceRepository {
  private readonly upsertSql = upsertSql('silences', SILENCE_COLUMNS, 'updated_at');
  constructor(private readonly sql: Sql) {}

  async put(s: Silence): Promise<void> {
    this.sql.run(this.upsertSql, {
      id: s.id, tenant: s.tenant, kind: s.kind, matchers: json(s.matchers), starts_at: s.startsAt, ends_at: s.endsAt,
      reason: s.reason, created_by: s.createdBy, created_at: s.createdAt, updated_at: s.updatedAt, deleted: bool(s.deleted),
    });
  }

  async get(id: string): Promise<Silence | null> {
    const row = this.sql.get<SilenceRow>('SELECT * FROM silences WHERE id = @id', { id });
    return row ? silenceFromRow(row) : null;
  }

  async list(f: SilenceFilter): Promise<Silence[]> {
    const w = new Where().add('deleted = 0');
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    if (f.kind !== undefined) w.add('kind = @kind', { kind: f.kind });
    if (f.activeAt !== undefined) w.add('starts_at <= @activeAt AND ends_at > @activeAt', { activeAt: f.activeAt });
    if (f.endsAfter !== undefined) w.add('ends_at > @endsAfter', { endsAfter: f.endsAfter });
    const limit = limitOf(f.limit, DEFAULT_LIST_LIMIT);
    return this.sql.all<SilenceRow>(`SELECT * FROM silences${w} ORDER BY starts_at ASC, id ASC LIMIT @limit`, { ...w.params, limit }).map(silenceFromRow);
  }
}

interface StreamEventRow {
  event_id: string; tenant: string; type: StreamEventRecord['type']; at: number; severity: Severity; entity_type: EntityType;
  entity: string; payload: string;
}
const STREAM_EVENT_COLUMNS = ['event_id', 'tenant', 'type', 'at', 'severity', 'entity_type', 'entity', 'payload'] as const;

class SqliteStreamEvents implements StreamEventRepository {
  private readonly insertSql = `INSERT OR IGNORE INTO stream_events (${STREAM_EVENT_COLUMNS.join(', ')}) VALUES (${STREAM_EVENT_COLUMNS.map((c) => `@${c}`).join(', ')})`;
  constructor(private readonly sql: Sql) {}

  async append(events: StreamEventRecord[]): Promise<void> {
    if (!events.length) return;
    this.sql.tx(() => {
      for (const e of events) {
        this.sql.run(this.insertSql, {
          event_id: e.eventId, tenant: e.tenant, type: e.type, at: e.at, severity: e.severity, entity_type: e.entityType,
          entity: e.entity, payload: e.payload,
        });
      }
    });
  }

  async listAfter(f: { tenant?: string; afterEventId?: string; limit?: number }): Promise<StreamEventRecord[]> {
    const w = new Where();
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    if (f.afterEventId !== undefined) w.add('event_id > @after', { after: f.afterEventId });
    const limit = limitOf(f.limit, DEFAULT_LIST_LIMIT);
    const rows = this.sql.all<StreamEventRow>(`SELECT * FROM stream_events${w} ORDER BY event_id ASC LIMIT @limit`, { ...w.params, limit });
    return rows.map((r) => ({
      eventId: r.event_id, tenant: r.tenant, type: r.type, at: r.at, severity: r.severity, entityType: r.entity_type,
      entity: r.entity, payload: r.payload,
    }));
  }
}

const SEVERITY_BY_RANK: Record<number, Severity> = { 1: 'low', 2: 'medium', 3: 'high', 4: 'critical' };

class SqliteStats implements StatsRepository {
  constructor(private readonly sql: Sql) {}

  async topEntities(f: TimeRange & { tenant?: string; entityType: EntityType; limit?: number }): Promise<EntityAnomalyCount[]> {
    const w = new Where().add('entity_type = @entityType', { entityType: f.entityType });
    if (f.tenant !== undefined) w.add('tenant = @tenant', { tenant: f.tenant });
    timeRange(w, 'detected_at', f);
    const limit = limitOf(f.limit, 10, MAX_PAGE_SIZE);
    const rows = this.sql.all<{ entity: string; n: number; max_score: number; max_rank: number; last: number }>(
      `SELECT entity, count(*) AS n, max(score) AS max_score, max(severity_rank) AS max_rank, max(detected_at) AS last
       FROM anomalies${w} GROUP BY entity ORDER BY n DESC, entity ASC LIMIT @limit`,
      { ...w.params, limit },
    );
    return rows.map((r) => ({
      entityType: f.entityType, entity: r.entity, anomalies: r.n, maxScore: r.max_score,
      maxSeverity: SEVERITY_BY_RANK[r.max_rank] ?? 'low', lastDetectedAt: r.last,
    }));
  }
}

// ---------------------------------------------------------------- store

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly accessEvents: AccessEventRepository;
  readonly anomalies: AnomalyRepository;
  readonly incidents: IncidentRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly webhooks: WebhookRepository;
  readonly deadLetters: DeadLetterRepository;
  readonly silences: SilenceRepository;
  readonly streamEvents: StreamEventRepository;
  readonly stats: StatsRepository;
  readonly audit: AuditRepository;
  readonly checkpoints: CheckpointRepository;
  readonly outbox: OutboxRepository;

  private readonly db: Database.Database;
  private readonly sql: Sql;
  private readonly clock: Clock;

  constructor(opts: SqliteStoreOptions) {
    const inMemory = opts.path === ':memory:' || opts.path.startsWith('file:');
    if (!inMemory) mkdirSync(dirname(opts.path), { recursive: true });
    const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    this.db = new Database(opts.path, { timeout: busyTimeoutMs });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = OFF');
    this.clock = opts.clock ?? systemClock;
    this.sql = new Sql(this.db);
    this.accessEvents = new SqliteAccessEvents(this.sql);
    this.anomalies = new SqliteAnomalies(this.sql);
    this.incidents = new SqliteIncidents(this.sql);
    this.apiKeys = new SqliteApiKeys(this.sql);
    this.webhooks = new SqliteWebhooks(this.sql);
    this.deadLetters = new SqliteDeadLetters(this.sql);
    this.silences = new SqliteSilences(this.sql);
    this.streamEvents = new SqliteStreamEvents(this.sql);
    this.stats = new SqliteStats(this.sql);
    this.audit = new SqliteAuditRepository(this.db);
    this.checkpoints = new SqliteCheckpointRepository(this.db);
    this.outbox = new SqliteOutboxRepository(this.db);
  }

  async migrate(): Promise<string[]> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    // Immediate transaction: a second connection migrating at the same time waits, then sees the versions applied.
    return this.sql.tx(() => {
      const done = new Set(this.sql.all<{ version: string }>('SELECT version FROM schema_migrations').map((r) => r.version));
      const applied: string[] = [];
      for (const m of SQLITE_MIGRATIONS) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.sql.run('INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @at)', { version: m.version, at: this.clock.now() });
        applied.push(m.version);
      }
      return applied;
    });
  }

  /**
   * Retention: deletes time-series rows before the UTC day `days` days before the day of `now`
   * (with days = 7 on the 10th, the 3rd onwards is kept). Returns the `YYYYMMDD` days removed, ascending.
   */
  async dropOlderThan(days: number, now: number): Promise<string[]> {
    if (!Number.isInteger(days) || days < 0) throw new RangeError(`days must be a non-negative integer (got ${days})`);
    const cutoff = Math.floor(now / DAY_MS) * DAY_MS - days * DAY_MS;
    return this.sql.tx(() => {
      const removed = new Set<string>();
      for (const { table, column } of SQLITE_TIME_SERIES) {
        const days = this.sql.all<{ day: string }>(
          `SELECT DISTINCT strftime('%Y%m%d', ${column} / 1000, 'unixepoch') AS day FROM ${table} WHERE ${column} < @cutoff`,
          { cutoff },
        );
        for (const d of days) removed.add(d.day);
        this.sql.run(`DELETE FROM ${table} WHERE ${column} < @cutoff`, { cutoff });
      }
      return [...removed].sort();
    });
  }

  async health(): Promise<DependencyHealth> {
    if (!this.db.open) return { name: 'sqlite', ok: false, detail: 'closed' };
    try {
      this.sql.get('SELECT 1 AS ok');
      return { name: 'sqlite', ok: true };
    } catch (e) {
      return { name: 'sqlite', ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.sql.clear();
    this.db.close();
  }
}
