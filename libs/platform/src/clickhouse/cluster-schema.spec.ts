import { createHash } from 'node:crypto';
import { ManualClock } from '../clock/clock.js';
import type { ClickHouseDb } from './clickhouse-db.js';
import { clusterTableDdl, renderClusterSchema, tablesOf } from './cluster-schema.js';
import { DAILY_PARTITIONED_TABLES, MIGRATIONS } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import { SCHEMA_MIGRATIONS_TABLE } from './migrations/schema-migrations-table.js';
import { createTables, createTableSql, defineTable, TableDefError, type TableDef } from './migrations/table.js';
import { runMigrations } from './migrator.js';
import { qualified, sql, type Sql } from './sql.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Small definitions of both placements, the shapes the migrations use. */
const events = defineTable({
  name: 'events',
  columns: { id: 'String', tenant: 'String', at: 'UInt64', tags: 'Array(String)' },
  partition: { daily: 'at' },
  orderBy: ['tenant', 'at', 'id'],
  cluster: { shardBy: 'id' },
});
const keys = defineTable({
  name: 'keys',
  columns: { id: 'String', revoked_at: 'Nullable(UInt64)', updated_at: 'UInt64' },
  version: 'updated_at',
  partition: 'none',
  orderBy: ['id'],
  cluster: 'replicated everywhere',
});

describe('ClickHouse migrations', () => {
  // sha256 of each released migration's statements for database `vigil` joined by ';\n', as they were written out
  // by hand before the tables became data (0001-0005 at b9d7543, 0006 at 4ff5576). Deployed databases recorded these versions.
  it.each([
    ['0001_init', 'access_events, anomalies, incidents, api_keys, webhook_subscriptions, webhook_deliveries, dead_letters', 'ccb12707de25771a79bdd109ee018fe7c163141c63987aeaccc6f5e3e2341acc'],
    ['0003_alerting', 'silences, stream_events', '4a0e9cf4bda5411edb69e62cd76b0256cb35f5791844e80f81b018d454c7fd3a'],
    ['0004_audit_log', 'audit_log', '68f7554b7b221b7b005e1bde41d8fa2e9fb9a77cddb60895be51748c5132c801'],
    ['0005_checkpoints', 'checkpoints', 'a94617312ab264abcdea494668f94a4e0b12c53cd5e209dc79bcf432e07271b1'],
    ['0006_outbox', 'outbox', '688abe3229166b8028e06a2843bdcf15f29bb696f1e61d846ec5928061a8fb6b'],
  ])('keep released %s byte for byte (version, description and statements)', (version, description, digest) => {
    const m = MIGRATIONS.find((x) => x.version === version);
    expect({ version: m?.version, description: m?.description, digest: sha256(m!.statements('vigil').map((s) => s.text).join(';\n')) }).toEqual({
      version,
      description,
      digest,
    });
  });

  it('are each the single-server rendering of their table definitions (so the cluster schema can include them)', () => {
    for (const m of MIGRATIONS) expect(() => tablesOf(m)).not.toThrow();
    expect(MIGRATIONS.flatMap((m) => tablesOf(m)).length).toBeGreaterThan(10);
  });

  it('are what the migrator runs, after creating schema_migrations as SCHEMA_MIGRATIONS_TABLE renders it', async () => {
    const commands: string[] = [];
    const recording = {
      database: 'vigil',
      table: (name: string) => qualified('vigil', name),
      command: async (q: Sql) => void commands.push(q.text),
      select: async () => [],
      insert: async () => undefined,
    } satisfies Pick<ClickHouseDb, 'database' | 'table' | 'command' | 'select' | 'insert'>;
    await runMigrations(recording as unknown as ClickHouseDb, new ManualClock(0));
    expect(commands).toEqual([
      'CREATE DATABASE IF NOT EXISTS `vigil`',
      createTableSql('vigil', SCHEMA_MIGRATIONS_TABLE).text,
      ...MIGRATIONS.flatMap((m) => tablesOf(m).map((t) => createTableSql('vigil', t).text)),
    ]);
  });
});

describe('DAILY_PARTITIONED_TABLES', () => {
  it('lets retention drop days of the time series only, never the audit log, incidents, keys or checkpoints', () => {
    expect([...DAILY_PARTITIONED_TABLES].sort()).toEqual(['access_events', 'anomalies', 'dead_letters', 'outbox', 'stream_events', 'webhook_deliveries']);
  });
});

describe(createTableSql.name, () => {
  it('renders a plain ReplacingMergeTree, its version, partition and a one-column or tuple sort key', () => {
    expect(createTableSql('db1', events).text).toBe(`CREATE TABLE IF NOT EXISTS \`db1\`.\`events\` (
  id String,
  tenant String,
  at UInt64,
  tags Array(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, at, id)`);
    expect(createTableSql('db1', keys).text).toBe(`CREATE TABLE IF NOT EXISTS \`db1\`.\`keys\` (
  id String,
  revoked_at Nullable(UInt64),
  updated_at UInt64
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY tuple()
ORDER BY id`);
  });

  it('partitions monthly by toYYYYMM', () => {
    expect(createTableSql('db1', { ...events, partition: { monthly: 'at' } }).text).toContain(`PARTITION BY toYYYYMM(toDateTime(intDiv(at, 1000), 'UTC'))\n`);
  });
});

describe(defineTable.name, () => {
  const base = events as TableDef;
  it.each<[string, Partial<TableDef>, RegExp]>([
    ['a Nullable sort key column', { columns: { id: 'Nullable(String)' }, orderBy: ['id'], partition: 'none', cluster: 'replicated everywhere' }, /ORDER BY column id is Nullable/],
    ['a sort key that is not a column', { orderBy: ['tenant', 'nope'] }, /ORDER BY column nope is not a column/],
    ['an empty sort key', { orderBy: [] }, /empty ORDER BY/],
    ['a version that is not an unsigned integer', { version: 'tenant' }, /version column tenant must be UInt\*/],
    ['a partition over a non-epoch-ms column', { partition: { daily: 'tenant' } }, /partition column tenant must be UInt64/],
    ['a shard key that is not a column', { cluster: { shardBy: 'key' } }, /shardBy column key is not a column/],
    ['a type 18.16 lacks', { columns: { id: 'String', tenant: 'LowCardinality(String)', at: 'UInt64' } as never }, /column tenant has type LowCardinality\(String\)/],
    ['DateTime64', { columns: { id: 'String', tenant: 'String', at: 'DateTime64(3)' } as never }, /column at has type DateTime64\(3\)/],
  ])('refuses %s', (_what, change, message) => {
    expect(() => defineTable({ ...base, ...change })).toThrow(TableDefError);
    expect(() => defineTable({ ...base, ...change })).toThrow(message);
  });

  it('refuses names that are not plain identifiers', () => {
    expect(() => defineTable({ ...base, name: 'events; DROP TABLE x' })).toThrow(/invalid identifier/);
    expect(() => defineTable<string>({ ...base, columns: { ...base.columns, 'a b': 'String' } })).toThrow(/invalid identifier/);
  });
});

describe(renderClusterSchema.name, () => {
  it('renders a sharded table as a replicated _local table per shard under a Distributed table hashed by its key', () => {
    expect(clusterTableDdl('vigil', events)).toBe(`CREATE TABLE IF NOT EXISTS vigil.events_local ON CLUSTER '{cluster}' (
  id String,
  tenant String,
  at UInt64,
  tags Array(String)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/vigil/events_local', '{replica}')
PARTITION BY toYYYYMMDD(toDateTime(intDiv(at, 1000), 'UTC'))
ORDER BY (tenant, at, id);
CREATE TABLE IF NOT EXISTS vigil.events ON CLUSTER '{cluster}' AS vigil.events_local
ENGINE = Distributed('{cluster}', vigil, events_local, cityHash64(id));`);
  });

  it('renders a replicated-everywhere table under its app name with one Keeper path for all shards, and its version', () => {
    expect(clusterTableDdl('other', keys)).toBe(`CREATE TABLE IF NOT EXISTS other.keys ON CLUSTER '{cluster}' (
  id String,
  revoked_at Nullable(UInt64),
  updated_at UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/other/keys', '{replica}', updated_at)
PARTITION BY tuple()
ORDER BY id;`);
  });

  it('creates the database, schema_migrations and every table of the migrations once, under the names the app uses', () => {
    const schema = renderClusterSchema(MIGRATIONS);
    const created = [...schema.matchAll(/^CREATE TABLE IF NOT EXISTS vigil\.(\w+) ON CLUSTER '\{cluster\}' (\(|AS)/gm)].map((m) => m[1]!);
    const appNames = created.filter((n) => !n.endsWith('_local'));
    expect(schema).toContain(`CREATE DATABASE IF NOT EXISTS vigil ON CLUSTER '{cluster}';`);
    expect(appNames.sort()).toEqual(['schema_migrations', ...MIGRATIONS.flatMap((m) => tablesOf(m).map((t) => t.name))].sort());
    expect(new Set(created).size).toBe(created.length);
    for (const local of created.filter((n) => n.endsWith('_local'))) expect(appNames).toContain(local.replace(/_local$/, ''));
  });

  it('shards every table by the column its rows are deduplicated by, and keeps the small mutable ones everywhere', () => {
    const placement = Object.fromEntries(
      MIGRATIONS.flatMap((m) => tablesOf(m)).map((t) => [t.name, t.cluster === 'replicated everywhere' ? 'everywhere' : t.cluster.shardBy]),
    );
    expect(placement).toMatchObject({
      access_events: 'id',
      anomalies: 'id',
      incidents: 'id',
      webhook_deliveries: 'id',
      dead_letters: 'id',
      stream_events: 'event_id',
      audit_log: 'id',
      api_keys: 'everywhere',
      webhook_subscriptions: 'everywhere',
      silences: 'everywhere',
      checkpoints: 'everywhere',
      outbox: 'key',
    });
    // the shard key is in the sort (dedupe) key, so every copy of a row meets its twins on one shard
    for (const t of MIGRATIONS.flatMap((m) => tablesOf(m))) {
      if (t.cluster !== 'replicated everywhere') expect({ table: t.name, inKey: t.orderBy.includes(t.cluster.shardBy) }).toEqual({ table: t.name, inKey: true });
    }
  });

  it('refuses a migration whose statements were written by hand instead of rendered from its tables', () => {
    const handWritten: Migration = {
      ...createTables('0099_x', [events]),
      statements: (db: string) => [sql`CREATE TABLE IF NOT EXISTS ${qualified(db, 'events')} (id String) ENGINE = Memory`],
    };
    const withoutTables = { version: '0099_y', description: 'y', statements: () => [] } as unknown as Migration;
    expect(() => renderClusterSchema([handWritten])).toThrow(/migration 0099_x: its statements are not the rendering of its tables/);
    expect(() => renderClusterSchema([withoutTables])).toThrow(/migration 0099_y/);
  });
});
