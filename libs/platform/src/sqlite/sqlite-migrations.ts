/**
 * Versioned schema of the SQLite store. Version names match the ClickHouse migrations
 * (`0001_init`, …) so both adapters report the same history. Append new versions; never edit an applied one.
 *
 * Conventions: STRICT tables; times are epoch ms INTEGERs; arrays/objects are JSON text;
 * booleans are 0/1; severities also carry a numeric rank for `minSeverity` filters.
 * Time-series tables (access_events, anomalies, webhook_deliveries, dead_letters) have an index on their
 * time column so retention (`dropOlderThan`) can delete whole UTC days.
 */
export interface SqliteMigration {
  version: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: '0001_init',
    sql: `
      CREATE TABLE access_events (
        id          TEXT    NOT NULL PRIMARY KEY,
        tenant      TEXT    NOT NULL,
        ts          INTEGER NOT NULL,
        format      TEXT    NOT NULL,
        client_ip   TEXT    NOT NULL,
        method      TEXT    NOT NULL,
        path        TEXT    NOT NULL,
        query       TEXT    NOT NULL,
        route       TEXT    NOT NULL,
        status      INTEGER NOT NULL,
        latency_ms  REAL    NOT NULL,
        bytes_in    INTEGER NOT NULL,
        bytes_out   INTEGER NOT NULL,
        user_agent  TEXT    NOT NULL,
        api_version TEXT    NOT NULL,
        tls         TEXT    NOT NULL,
        token_id    TEXT    NOT NULL,
        country     TEXT    NOT NULL,
        asn         INTEGER NOT NULL,
        request_id  TEXT    NOT NULL,
        host        TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX access_events_tenant_ts ON access_events (tenant, ts);
      CREATE INDEX access_events_ip_ts     ON access_events (tenant, client_ip, ts);
      CREATE INDEX access_events_token_ts  ON access_events (tenant, token_id, ts);
      CREATE INDEX access_events_route_ts  ON access_events (tenant, route, ts);
      CREATE INDEX access_events_ts        ON access_events (ts);

      CREATE TABLE anomalies (
        id               TEXT    NOT NULL PRIMARY KEY,
        tenant           TEXT    NOT NULL,
        detector         TEXT    NOT NULL,
        entity_type      TEXT    NOT NULL,
        entity           TEXT    NOT NULL,
        metric           TEXT    NOT NULL,
        window_start     INTEGER NOT NULL,
        window_end       INTEGER NOT NULL,
        detected_at      INTEGER NOT NULL,
        early            INTEGER NOT NULL,
        observed         REAL    NOT NULL,
        expected         REAL    NOT NULL,
        lower            REAL    NOT NULL,
        upper            REAL    NOT NULL,
        score            REAL    NOT NULL,
        severity         TEXT    NOT NULL,
        severity_rank    INTEGER NOT NULL,
        explanation      TEXT    NOT NULL,
        contributors     TEXT    NOT NULL,
        sample_event_ids TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX anomalies_tenant_detected ON anomalies (tenant, detected_at);
      CREATE INDEX anomalies_entity          ON anomalies (tenant, entity_type, entity, detected_at);
      CREATE INDEX anomalies_detected        ON anomalies (detected_at);

      CREATE TABLE incidents (
        id            TEXT    NOT NULL PRIMARY KEY,
        tenant        TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        severity      TEXT    NOT NULL,
        severity_rank INTEGER NOT NULL,
        title         TEXT    NOT NULL,
        entity_type   TEXT    NOT NULL,
        entity        TEXT    NOT NULL,
        related       TEXT    NOT NULL,
        detectors     TEXT    NOT NULL,
        anomaly_ids   TEXT    NOT NULL,
        anomaly_count INTEGER NOT NULL,
        max_score     REAL    NOT NULL,
        explanation   TEXT    NOT NULL,
        first_seen    INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        resolved_at   INTEGER,
        history       TEXT    NOT NULL,
        revision      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX incidents_tenant_last_seen ON incidents (tenant, last_seen, id);
      CREATE INDEX incidents_last_seen        ON incidents (last_seen, id);
      CREATE INDEX incidents_entity           ON incidents (tenant, entity_type, entity);

      CREATE TABLE api_keys (
        id           TEXT    NOT NULL PRIMARY KEY,
        tenant       TEXT    NOT NULL,
        name         TEXT    NOT NULL,
        hash         TEXT    NOT NULL,
        prefix       TEXT    NOT NULL,
        scopes       TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        allowed_ips  TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        revoked_at   INTEGER,
        last_used_at INTEGER,
        updated_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX api_keys_hash   ON api_keys (hash);
      CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

      CREATE TABLE webhook_subscriptions (
        id           TEXT    NOT NULL PRIMARY KEY,
        tenant       TEXT    NOT NULL,
        url          TEXT    NOT NULL,
        secret       TEXT    NOT NULL,
        events       TEXT    NOT NULL,
        min_severity TEXT    NOT NULL,
        enabled      INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        deleted      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant, created_at);

      CREATE TABLE webhook_deliveries (
        id              TEXT    NOT NULL PRIMARY KEY,
        subscription_id TEXT    NOT NULL,
        event_id        TEXT    NOT NULL,
        attempt         INTEGER NOT NULL,
        status          TEXT    NOT NULL,
        http_status     INTEGER NOT NULL,
        error           TEXT    NOT NULL,
        duration_ms     REAL    NOT NULL,
        at              INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, at);
      CREATE INDEX webhook_deliveries_event        ON webhook_deliveries (event_id, at);
      CREATE INDEX webhook_deliveries_at           ON webhook_deliveries (at);

      CREATE TABLE dead_letters (
        id          TEXT    NOT NULL PRIMARY KEY,
        tenant      TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        source      TEXT    NOT NULL,
        reason      TEXT    NOT NULL,
        raw         TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX dead_letters_tenant_received ON dead_letters (tenant, received_at);
      CREATE INDEX dead_letters_received        ON dead_letters (received_at);
    `,
  },
  {
    version: '0003_alerting',
    sql: `
      CREATE TABLE silences (
        id         TEXT    NOT NULL PRIMARY KEY,
        tenant     TEXT    NOT NULL,
        kind       TEXT    NOT NULL,
        matchers   TEXT    NOT NULL,
        starts_at  INTEGER NOT NULL,
        ends_at    INTEGER NOT NULL,
        reason     TEXT    NOT NULL,
        created_by TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX silences_tenant_ends ON silences (tenant, ends_at);

      CREATE TABLE stream_events (
        event_id    TEXT    NOT NULL PRIMARY KEY,
        tenant      TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        severity    TEXT    NOT NULL,
        entity_type TEXT    NOT NULL,
        entity      TEXT    NOT NULL,
        payload     TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX stream_events_tenant ON stream_events (tenant, event_id);
      CREATE INDEX stream_events_at     ON stream_events (at);
    `,
  },
  {
    version: '0004_audit_log',
    sql: `
      CREATE TABLE audit_log (
        id          TEXT    NOT NULL PRIMARY KEY,
        tenant      TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        actor       TEXT    NOT NULL,
        action      TEXT    NOT NULL,
        target_type TEXT    NOT NULL,
        target_id   TEXT    NOT NULL,
        details     TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX audit_log_tenant_at ON audit_log (tenant, at);
      CREATE INDEX audit_log_at        ON audit_log (at);
    `,
  },
  {
    version: '0005_checkpoints',
    sql: `
      CREATE TABLE checkpoints (
        consumer_group TEXT    NOT NULL,
        topic          TEXT    NOT NULL,
        partition      INTEGER NOT NULL,
        chunk          INTEGER NOT NULL,
        chunks         INTEGER NOT NULL,
        resume_offset  TEXT    NOT NULL,
        updated_at     INTEGER NOT NULL,
        data           BLOB    NOT NULL,
        PRIMARY KEY (consumer_group, topic, partition, chunk)
      ) STRICT;
    `,
  },
  {
    version: '0006_outbox',
    sql: `
      CREATE TABLE outbox (
        id          TEXT    NOT NULL PRIMARY KEY,
        key         TEXT    NOT NULL,
        payload     TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        done_at     INTEGER
      ) STRICT;
      CREATE INDEX outbox_pending ON outbox (key, created_at) WHERE done_at IS NULL;
      CREATE INDEX outbox_created_at ON outbox (created_at);
    `,
  },
];

/** Time-series tables and the column their daily retention is keyed on. */
export const SQLITE_TIME_SERIES: readonly { table: string; column: string }[] = [
  { table: 'access_events', column: 'ts' },
  { table: 'anomalies', column: 'detected_at' },
  { table: 'webhook_deliveries', column: 'at' },
  { table: 'dead_letters', column: 'received_at' },
  { table: 'stream_events', column: 'at' },
  { table: 'outbox', column: 'created_at' },
];
