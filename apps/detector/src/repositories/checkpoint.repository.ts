import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { VigilConfig } from '@vigil/platform';

/**
 * Detector checkpoints: one partition's state (opaque bytes) and the offsets it covers, per consumer group.
 * The newest checkpoint of a partition replaces the previous one; `version` (last offset covered + 1) decides which
 * is newer, so a late write from an instance that lost the partition cannot overwrite a newer one on ClickHouse.
 *
 * Kept in the store's database (same SQLite file / ClickHouse database) in a `detector_checkpoints` table this
 * repository creates if absent. (It could move behind the Store port; see the detector README notes.)
 */
export interface CheckpointKey {
  group: string;
  topic: string;
  partition: number;
}

export interface StoredCheckpoint {
  version: number;
  bytes: Uint8Array;
}

export interface CheckpointRepository {
  save(key: CheckpointKey, version: number, bytes: Uint8Array): Promise<void>;
  load(key: CheckpointKey): Promise<StoredCheckpoint | null>;
  close(): Promise<void>;
}

export const CHECKPOINT_REPOSITORY = Symbol('CHECKPOINT_REPOSITORY');

/** Rows of at most this many bytes (base64 text on ClickHouse), so one huge partition never makes one huge value. */
const CHUNK_BYTES = 768 * 1024;

function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += CHUNK_BYTES) out.push(bytes.subarray(i, Math.min(bytes.byteLength, i + CHUNK_BYTES)));
  return out.length ? out : [new Uint8Array(0)];
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

// ---- SQLite ----------------------------------------------------------------------------------------

type SqliteDb = import('better-sqlite3').Database;

export class SqliteCheckpointRepository implements CheckpointRepository {
  private constructor(private readonly db: SqliteDb) {}

  static async open(path: string): Promise<SqliteCheckpointRepository> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path, { timeout: 5_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS detector_checkpoints (
        consumer_group TEXT    NOT NULL,
        topic          TEXT    NOT NULL,
        partition      INTEGER NOT NULL,
        version        INTEGER NOT NULL,
        chunk          INTEGER NOT NULL,
        chunks         INTEGER NOT NULL,
        data           BLOB    NOT NULL,
        PRIMARY KEY (consumer_group, topic, partition, chunk)
      ) STRICT;
    `);
    return new SqliteCheckpointRepository(db);
  }

  async save(key: CheckpointKey, version: number, bytes: Uint8Array): Promise<void> {
    const parts = chunks(bytes);
    const del = this.db.prepare('DELETE FROM detector_checkpoints WHERE consumer_group = ? AND topic = ? AND partition = ?');
    const ins = this.db.prepare('INSERT INTO detector_checkpoints (consumer_group, topic, partition, version, chunk, chunks, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const current = this.db
      .prepare('SELECT MAX(version) AS v FROM detector_checkpoints WHERE consumer_group = ? AND topic = ? AND partition = ?')
      .get(key.group, key.topic, key.partition) as { v: number | null } | undefined;
    if (current?.v !== null && current?.v !== undefined && current.v > version) return; // a newer checkpoint exists
    this.db.transaction(() => {
      del.run(key.group, key.topic, key.partition);
      parts.forEach((p, i) => ins.run(key.group, key.topic, key.partition, version, i, parts.length, Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    })();
  }

  async load(key: CheckpointKey): Promise<StoredCheckpoint | null> {
    const rows = this.db
      .prepare('SELECT version, chunk, chunks, data FROM detector_checkpoints WHERE consumer_group = ? AND topic = ? AND partition = ? ORDER BY chunk')
      .all(key.group, key.topic, key.partition) as { version: number; chunk: number; chunks: number; data: Buffer }[];
    if (rows.length === 0 || rows.length !== rows[0]!.chunks) return null;
    return { version: rows[0]!.version, bytes: join(rows.map((r) => r.data)) };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

// ---- ClickHouse ------------------------------------------------------------------------------------

type ChClient = import('@clickhouse/client').ClickHouseClient;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** String literal for ClickHouse SQL (18.16 has no query parameters): backslash and quote escaped. */
function str(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0')}'`;
}

export class ClickHouseCheckpointRepository implements CheckpointRepository {
  private constructor(
    private readonly client: ChClient,
    private readonly table: string,
  ) {}

  static async open(opts: { url: string; user: string; password: string; database: string }): Promise<ClickHouseCheckpointRepository> {
    if (!IDENT.test(opts.database)) throw new Error(`invalid ClickHouse database name ${JSON.stringify(opts.database)}`);
    const { createClient } = await import('@clickhouse/client');
    const client = createClient({ url: opts.url, username: opts.user, password: opts.password, request_timeout: 60_000, application: 'vigil-detector' });
    const table = `\`${opts.database}\`.\`detector_checkpoints\``;
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${opts.database}\`` });
    // ReplacingMergeTree keyed by partition + chunk, newest version wins; reads use FINAL. Valid on 18.16 and 24.x.
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS ${table} (
        consumer_group String, topic String, partition UInt32, version UInt64, chunk UInt32, chunks UInt32, data String
      ) ENGINE = ReplacingMergeTree(version) ORDER BY (consumer_group, topic, partition, chunk)`,
    });
    return new ClickHouseCheckpointRepository(client, table);
  }

  async save(key: CheckpointKey, version: number, bytes: Uint8Array): Promise<void> {
    const parts = chunks(bytes);
    await this.client.insert({
      table: this.table,
      format: 'JSONEachRow',
      values: parts.map((p, i) => ({
        consumer_group: key.group,
        topic: key.topic,
        partition: key.partition,
        version,
        chunk: i,
        chunks: parts.length,
        data: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'),
      })),
    });
  }

  async load(key: CheckpointKey): Promise<StoredCheckpoint | null> {
    const rs = await this.client.query({
      query:
        `SELECT version, chunk, chunks, data FROM ${this.table} FINAL ` +
        `WHERE consumer_group = ${str(key.group)} AND topic = ${str(key.topic)} AND partition = ${Math.trunc(key.partition)} ORDER BY chunk`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const rows = await rs.json<{ version: number | string; chunk: number; chunks: number; data: string }>();
    if (rows.length === 0) return null;
    const version = Math.max(...rows.map((r) => Number(r.version)));
    const current = rows.filter((r) => Number(r.version) === version);
    // A newer checkpoint with fewer chunks leaves stale higher chunks behind; a torn write leaves too few.
    if (current.length !== current[0]!.chunks || current.some((r, i) => r.chunk !== i)) return null;
    return { version, bytes: join(current.map((r) => Buffer.from(r.data, 'base64'))) };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The checkpoint repository next to the configured store. */
export async function createCheckpointRepository(config: VigilConfig): Promise<CheckpointRepository> {
  if (config.store.kind === 'clickhouse') return ClickHouseCheckpointRepository.open(config.store);
  return SqliteCheckpointRepository.open(config.store.path);
}
