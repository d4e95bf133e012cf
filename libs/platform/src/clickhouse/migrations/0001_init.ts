import { qualified, sql, type Sql } from '../sql.js';
import type { Migration } from './migration.js';

/**
 * Initial schema.
 * - Immutable records (events, anomalies, dead letters, deliveries): ReplacingMergeTree with a sort key ending in
 *   id, daily UTC partitions (`toYYYYMMDD(toDateTime(intDiv(<ms>, 1000), 'UTC'))`) that retention drops whole.
 *   Reads apply `LIMIT 1 BY id`, so a redelivery never shows a twin, even before merges or across partitions.
 * - Mutable records (incidents, api keys, webhook subscriptions): ReplacingMergeTree(<version>) ordered by id in a
 *   single partition (`tuple()`), read with FINAL, so the highest version wins before merges too.
 * - Times are UInt64 epoch ms; nullable times are Nullable(UInt64) outside the sort key; booleans are UInt8;
 *   nested objects are JSON text in String columns.
 */
export const m0001Init: Migration = {
  version: '0001_init',
  description: 'access_events, anomalies, incidents, api_keys, webhook_subscriptions, webhook_deliveries, dead_letters',
  statements: (db: string): Sql[] => {
    const t = (name: string) => qualified(db, name);
    return [
      sql`CREATE TABLE IF NOT EXISTS ${t('access_events')} (
  id String,
  tenant String,
  ts UInt64,
  format String,
  client_ip String,
  method String,
  path String,
  query String,
  route String,
  status UInt16,
  latency_ms Float64,
  bytes_in UInt64,
  bytes_out UInt64,
  user_agent String,
  api_version String,
  tls String,
  token_id String,
  country String,
  asn UInt32,
  request_id String,
  host String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))
ORDER BY (tenant, ts, id)`,
      sql`CREATE TABLE IF NOT EXISTS ${t('anomalies')} (
  id String,
  tenant String,
  detector String,
  entity_type String,
  entity String,
  metric String,
  window_start UInt64,
  window_end UInt64,
  detected_at UInt64,
  early UInt8,
  observed Float64,
  expected Float64,
  lower Float64,
  upper Float64,
  score Float64,
  severity String,
  explanation String,
  contributors String,
  sample_event_ids Array(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(detected_at, 1000), 'UTC'))
ORDER BY (tenant, detected_at, id)`,
      sql`CREATE TABLE IF NOT EXISTS ${t('incidents')} (
  id String,
  tenant String,
  status String,
  severity String,
  title String,
  entity_type String,
  entity String,
  related String,
  detectors Array(String),
  anomaly_ids Array(String),
  anomaly_count UInt32,
  max_score Float64,
  explanation String,
  first_seen UInt64,
  last_seen UInt64,
  created_at UInt64,
  updated_at UInt64,
  resolved_at Nullable(UInt64),
  history String,
  revision UInt64
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY tuple()
ORDER BY id`,
      sql`CREATE TABLE IF NOT EXISTS ${t('api_keys')} (
  id String,
  tenant String,
  name String,
  hash String,
  prefix String,
  scopes Array(String),
  role String,
  allowed_ips Array(String),
  created_at UInt64,
  expires_at Nullable(UInt64),
  revoked_at Nullable(UInt64),
  last_used_at Nullable(UInt64),
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY tuple()
ORDER BY id`,
      sql`CREATE TABLE IF NOT EXISTS ${t('webhook_subscriptions')} (
  id String,
  tenant String,
  url String,
  secret String,
  events Array(String),
  min_severity String,
  enabled UInt8,
  created_at UInt64,
  updated_at UInt64,
  deleted UInt8
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY tuple()
ORDER BY id`,
      sql`CREATE TABLE IF NOT EXISTS ${t('webhook_deliveries')} (
  id String,
  subscription_id String,
  event_id String,
  attempt UInt32,
  status String,
  http_status UInt16,
  error String,
  duration_ms Float64,
  at UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (subscription_id, at, id)`,
      sql`CREATE TABLE IF NOT EXISTS ${t('dead_letters')} (
  id String,
  tenant String,
  received_at UInt64,
  source String,
  reason String,
  raw String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(received_at, 1000), 'UTC'))
ORDER BY (tenant, received_at, id)`,
    ];
  },
};
