-- GENERATED from libs/platform/src/clickhouse/migrations by `npm run gen:cluster-schema`: do not edit by hand.
-- Vigil's ClickHouse schema on a cluster (ClickHouse 24.x with ClickHouse Keeper). See cluster.md next to this file.
--
-- Run it before the first service start, from any node (clickhouse-client --multiquery < cluster-schema.sql).
-- Every node needs the macros {cluster}, {shard} and {replica} (config.d/macros.xml) and the cluster in remote_servers.
-- The services then find every table they would create already there (their migrations are CREATE ... IF NOT EXISTS
-- and only record themselves in schema_migrations). Before a release that adds a migration, apply the regenerated
-- file again (every statement is IF NOT EXISTS: only the new tables are created), then roll out; see "Upgrades" in
-- cluster.md.
--
-- Two shapes:
-- * sharded: <table>_local is a ReplicatedReplacingMergeTree on each shard, <table> (the name the app uses) is a
--   Distributed table over it, sharded by cityHash64(<key>). All rows of one key land on one shard, so the
--   ReplacingMergeTree dedupe, `FINAL` and `LIMIT 1 BY id` (applied per shard, then again on the initiator) stay exact.
-- * replicated everywhere: small, mutable tables read with FINAL are one replicated table with the same Keeper path on
--   every node of the cluster (path without {shard}), under the name the app uses: every node holds all rows, reads
--   are local and exact.

CREATE DATABASE IF NOT EXISTS vigil ON CLUSTER '{cluster}';

-- ---------------------------------------------------------------------------------------------- replicated everywhere

-- the migrator (schema_migrations)
CREATE TABLE IF NOT EXISTS vigil.schema_migrations ON CLUSTER '{cluster}' (
  version String,
  description String,
  applied_at UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/vigil/schema_migrations', '{replica}')
PARTITION BY tuple()
ORDER BY version;

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.api_keys ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/vigil/api_keys', '{replica}', updated_at)
PARTITION BY tuple()
ORDER BY id;

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.webhook_subscriptions ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/vigil/webhook_subscriptions', '{replica}', updated_at)
PARTITION BY tuple()
ORDER BY id;

-- 0003_alerting
CREATE TABLE IF NOT EXISTS vigil.silences ON CLUSTER '{cluster}' (
  id String,
  tenant String,
  kind String,
  matchers String,
  starts_at UInt64,
  ends_at UInt64,
  reason String,
  created_by String,
  created_at UInt64,
  updated_at UInt64,
  deleted UInt8
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/vigil/silences', '{replica}', updated_at)
PARTITION BY tuple()
ORDER BY id;

-- 0005_checkpoints
CREATE TABLE IF NOT EXISTS vigil.checkpoints ON CLUSTER '{cluster}' (
  consumer_group String,
  topic String,
  partition UInt32,
  chunk UInt32,
  chunks UInt32,
  write_id String,
  resume_offset String,
  updated_at UInt64,
  data String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/vigil/checkpoints', '{replica}', updated_at)
PARTITION BY tuple()
ORDER BY (consumer_group, topic, partition, chunk);

-- ---------------------------------------------------------------------------------------------- sharded

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.access_events_local ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/access_events_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))
ORDER BY (tenant, ts, id);
CREATE TABLE IF NOT EXISTS vigil.access_events ON CLUSTER '{cluster}' AS vigil.access_events_local
ENGINE = Distributed('{cluster}', vigil, access_events_local, cityHash64(id));

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.anomalies_local ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/anomalies_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(detected_at, 1000), 'UTC'))
ORDER BY (tenant, detected_at, id);
CREATE TABLE IF NOT EXISTS vigil.anomalies ON CLUSTER '{cluster}' AS vigil.anomalies_local
ENGINE = Distributed('{cluster}', vigil, anomalies_local, cityHash64(id));

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.incidents_local ON CLUSTER '{cluster}' (
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
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/incidents_local', '{replica}', revision)
PARTITION BY tuple()
ORDER BY id;
CREATE TABLE IF NOT EXISTS vigil.incidents ON CLUSTER '{cluster}' AS vigil.incidents_local
ENGINE = Distributed('{cluster}', vigil, incidents_local, cityHash64(id));

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.webhook_deliveries_local ON CLUSTER '{cluster}' (
  id String,
  subscription_id String,
  event_id String,
  attempt UInt32,
  status String,
  http_status UInt16,
  error String,
  duration_ms Float64,
  at UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/webhook_deliveries_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (subscription_id, at, id);
CREATE TABLE IF NOT EXISTS vigil.webhook_deliveries ON CLUSTER '{cluster}' AS vigil.webhook_deliveries_local
ENGINE = Distributed('{cluster}', vigil, webhook_deliveries_local, cityHash64(id));

-- 0001_init
CREATE TABLE IF NOT EXISTS vigil.dead_letters_local ON CLUSTER '{cluster}' (
  id String,
  tenant String,
  received_at UInt64,
  source String,
  reason String,
  raw String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/dead_letters_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(received_at, 1000), 'UTC'))
ORDER BY (tenant, received_at, id);
CREATE TABLE IF NOT EXISTS vigil.dead_letters ON CLUSTER '{cluster}' AS vigil.dead_letters_local
ENGINE = Distributed('{cluster}', vigil, dead_letters_local, cityHash64(id));

-- 0003_alerting
CREATE TABLE IF NOT EXISTS vigil.stream_events_local ON CLUSTER '{cluster}' (
  event_id String,
  tenant String,
  type String,
  at UInt64,
  severity String,
  entity_type String,
  entity String,
  payload String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/stream_events_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, event_id);
CREATE TABLE IF NOT EXISTS vigil.stream_events ON CLUSTER '{cluster}' AS vigil.stream_events_local
ENGINE = Distributed('{cluster}', vigil, stream_events_local, cityHash64(event_id));

-- 0004_audit_log
CREATE TABLE IF NOT EXISTS vigil.audit_log_local ON CLUSTER '{cluster}' (
  id String,
  tenant String,
  at UInt64,
  actor String,
  action String,
  target_type String,
  target_id String,
  details String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/audit_log_local', '{replica}')
PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, at, id);
CREATE TABLE IF NOT EXISTS vigil.audit_log ON CLUSTER '{cluster}' AS vigil.audit_log_local
ENGINE = Distributed('{cluster}', vigil, audit_log_local, cityHash64(id));

-- 0006_outbox
CREATE TABLE IF NOT EXISTS vigil.outbox_local ON CLUSTER '{cluster}' (
  key String,
  id String,
  payload String,
  created_at UInt64,
  done_at UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/outbox_local', '{replica}', done_at)
PARTITION BY toYYYYMMDD(toDateTime(intDiv(created_at, 1000), 'UTC'))
ORDER BY (key, id);
CREATE TABLE IF NOT EXISTS vigil.outbox ON CLUSTER '{cluster}' AS vigil.outbox_local
ENGINE = Distributed('{cluster}', vigil, outbox_local, cityHash64(key));
