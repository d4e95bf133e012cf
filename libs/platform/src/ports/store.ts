import type { AccessEvent, Anomaly, DeadLetter, EntityType, Incident, IncidentStatus, Severity, Silence, StreamEventRecord } from '@vigil/contracts';
import type { DependencyHealth } from './event-bus.js';

/**
 * Store port. Adapters: ClickHouse (distributed) and SQLite (standalone).
 * Every insert is idempotent by id: writing the same record twice leaves one (reads never show twins).
 * Mutable records (incidents, keys, webhooks) keep the latest version.
 */
export interface TimeRange { from?: number; to?: number }

export interface AccessEventFilter extends TimeRange {
  tenant?: string;
  clientIp?: string;
  tokenId?: string;
  route?: string;
  ids?: string[];
  limit?: number;
}

export interface AccessEventRepository {
  insert(events: AccessEvent[]): Promise<void>;
  list(filter: AccessEventFilter): Promise<AccessEvent[]>;
  count(filter: AccessEventFilter): Promise<number>;
}

export interface AnomalyFilter extends TimeRange {
  tenant?: string;
  detector?: string;
  entityType?: EntityType;
  entity?: string;
  minSeverity?: Severity;
  ids?: string[];
  limit?: number;
}

export interface AnomalyRepository {
  insert(anomalies: Anomaly[]): Promise<void>;
  get(id: string): Promise<Anomaly | null>;
  list(filter: AnomalyFilter): Promise<Anomaly[]>;
}

export interface IncidentFilter extends TimeRange {
  tenant?: string;
  status?: IncidentStatus;
  minSeverity?: Severity;
  detector?: string;
  entityType?: EntityType;
  entity?: string;
  /** Opaque cursor returned by the previous page. */
  cursor?: string;
  order?: 'asc' | 'desc';
  limit?: number;
}

export interface Page<T> { items: T[]; nextCursor: string | null }

export interface IncidentRepository {
  /** Insert or replace; the record with the higher `revision` wins. */
  upsert(incident: Incident): Promise<void>;
  /** `upsert` of several incidents in one write (a batch's changes). */
  upsertMany(incidents: Incident[]): Promise<void>;
  /**
   * The `limit` most recent incidents (lastSeen then id, descending) of each of a tenant's entities, in one read;
   * grouped by entity, each group in that order.
   */
  recentOf(filter: { tenant: string; entities: { type: EntityType; value: string }[]; limit: number }): Promise<Incident[]>;
  get(id: string): Promise<Incident | null>;
  list(filter: IncidentFilter): Promise<Page<Incident>>;
}

export interface ApiKeyRecord {
  id: string;
  tenant: string;
  name: string;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  hash: string;
  prefix: string;
  scopes: string[];
  role: string;
  allowedIps: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  updatedAt: number;
}

export interface ApiKeyRepository {
  put(key: ApiKeyRecord): Promise<void>;
  get(id: string): Promise<ApiKeyRecord | null>;
  findByHash(hash: string): Promise<ApiKeyRecord | null>;
  list(tenant?: string): Promise<ApiKeyRecord[]>;
}

export interface WebhookSubscription {
  id: string;
  tenant: string;
  url: string;
  secret: string;
  /** Event types to deliver; empty means all. */
  events: string[];
  minSeverity: Severity;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  deleted: boolean;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  attempt: number;
  status: 'succeeded' | 'failed' | 'dead';
  httpStatus: number;
  error: string;
  durationMs: number;
  at: number;
}

export interface WebhookRepository {
  putSubscription(s: WebhookSubscription): Promise<void>;
  getSubscription(id: string): Promise<WebhookSubscription | null>;
  listSubscriptions(tenant?: string): Promise<WebhookSubscription[]>;
  /** One delivery-log row (a batch of one). */
  recordDelivery(d: WebhookDelivery): Promise<void>;
  /** Delivery-log rows in one write (idempotent by id); an empty batch writes nothing. */
  recordDeliveries(rows: readonly WebhookDelivery[]): Promise<void>;
  listDeliveries(filter: { subscriptionId?: string; eventId?: string; status?: WebhookDelivery['status']; limit?: number }): Promise<WebhookDelivery[]>;
}

export interface DeadLetterRepository {
  insert(records: DeadLetter[]): Promise<void>;
  list(filter: TimeRange & { tenant?: string; reason?: string; limit?: number }): Promise<DeadLetter[]>;
  count(filter: TimeRange & { tenant?: string }): Promise<number>;
}

export interface SilenceFilter {
  tenant?: string;
  /** Only silences in force at this instant: startsAt <= activeAt < endsAt. */
  activeAt?: number;
  /** Only silences that end after this instant (active now or later). */
  endsAfter?: number;
  kind?: Silence['kind'];
  limit?: number;
}

/** Silences, maintenance windows and false-positive suppressions. Mutable: the highest `updatedAt` wins. */
export interface SilenceRepository {
  put(silence: Silence): Promise<void>;
  /** The latest version, including a deleted one (`deleted: true`). */
  get(id: string): Promise<Silence | null>;
  /** Not deleted, ordered by (startsAt, id) ascending. */
  list(filter: SilenceFilter): Promise<Silence[]>;
}

/** The live-event log of the `/alerts` socket namespace (resume after reconnect). Append is idempotent by eventId. */
export interface StreamEventRepository {
  append(events: StreamEventRecord[]): Promise<void>;
  /** Events with eventId > afterEventId (every event when absent), eventId ascending, at most `limit` (default 1000). */
  listAfter(filter: { tenant?: string; afterEventId?: string; limit?: number }): Promise<StreamEventRecord[]>;
}

export interface EntityAnomalyCount {
  entityType: EntityType;
  entity: string;
  anomalies: number;
  maxScore: number;
  maxSeverity: Severity;
  lastDetectedAt: number;
}

/** Small aggregates for dashboards. */
export interface StatsRepository {
  /** Entities of one type with the most anomalies detected in [from, to); ties by entity ascending. */
  topEntities(filter: TimeRange & { tenant?: string; entityType: EntityType; limit?: number }): Promise<EntityAnomalyCount[]>;
}

/** One administrative action (key created/rotated/revoked, webhook created/updated/deleted, delivery replayed). */
export interface AuditEntry {
  id: string;
  tenant: string;
  at: number;
  /** Who did it: `key:<api key id>`, or `system` for first-run bootstrap. */
  actor: string;
  /** Dotted verb, e.g. `api_key.created`, `webhook.deleted`, `webhook_delivery.replayed`. */
  action: string;
  targetType: string;
  targetId: string;
  /** JSON object with the details worth keeping (never a secret). */
  details: string;
}

export interface AuditFilter extends TimeRange {
  tenant?: string;
  action?: string;
  actor?: string;
  targetId?: string;
  limit?: number;
}

/** The audit log: append-only, idempotent by id; listed newest first (ties by id). */
export interface AuditRepository {
  append(entries: AuditEntry[]): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEntry[]>;
}

/** Which consumer's state a checkpoint holds: one partition of one topic, per consumer group. */
export interface CheckpointKey {
  consumerGroup: string;
  topic: string;
  partition: number;
}

/** A stream processor's state for one partition (opaque bytes), e.g. the detector's baselines. */
export interface Checkpoint extends CheckpointKey {
  data: Uint8Array;
  /** The offset (decimal string) after the last record folded into `data`: where a restore continues. */
  offset: string;
  /** When it was written (epoch ms). The highest wins; on a tie the last written wins. */
  updatedAt: number;
}

/**
 * Checkpoints (migration 0005_checkpoints): one current checkpoint per key. `put` of an older `updatedAt` than the
 * stored one is ignored on read. Large states are fine (adapters split them into chunks); a torn write never
 * reads back as a mix of two checkpoints.
 */
export interface CheckpointRepository {
  put(checkpoint: Checkpoint): Promise<void>;
  get(key: CheckpointKey): Promise<Checkpoint | null>;
}

/** One notification waiting to be sent (transactional outbox): recorded before the change it announces is stored. */
export interface OutboxEntry {
  /** Deterministic per notification (e.g. `incident.opened:<incident id>@<revision>`): adding it again keeps one entry. */
  id: string;
  /** What pending entries are looked up by (e.g. the tenant and entity of an incident). */
  key: string;
  /** The notification itself (opaque text, e.g. JSON). */
  payload: string;
  /** When it was recorded (epoch ms): retention drops old days, as for the time-series tables. */
  createdAt: number;
}

/**
 * The outbox (migration 0006_outbox). An entry is pending from `add` until `markDone`; adding a pending id again
 * replaces its key and payload, adding a done id changes nothing (it stays done).
 */
export interface OutboxRepository {
  add(entries: OutboxEntry[]): Promise<void>;
  /** Pending entries with one of `keys` (all when absent) recorded before `createdBefore`, createdAt then id ascending, at most `limit` (default 1000). */
  pending(filter: { keys?: string[]; createdBefore?: number; limit?: number }): Promise<OutboxEntry[]>;
  /** Settle entries for good (delivered, or cancelled). Pass them as read or added: adapters may need key and createdAt. */
  markDone(entries: OutboxEntry[], at: number): Promise<void>;
}

export interface Store {
  readonly kind: 'clickhouse' | 'sqlite';
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
  /** Apply pending schema migrations (idempotent). Returns the versions applied now. */
  migrate(): Promise<string[]>;
  /** Drop daily partitions of time-series tables older than `days` (retention). Returns partitions dropped. */
  dropOlderThan(days: number, now: number): Promise<string[]>;
  health(): Promise<DependencyHealth>;
  close(): Promise<void>;
}

export const STORE = Symbol('STORE');
