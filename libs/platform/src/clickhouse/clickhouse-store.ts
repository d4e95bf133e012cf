import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { systemClock, type Clock } from '../clock/clock.js';
import type { DependencyHealth } from '../ports/event-bus.js';
import type {
  AuditRepository,
  CheckpointRepository,
  AccessEventRepository,
  AnomalyRepository,
  ApiKeyRepository,
  DeadLetterRepository,
  IncidentRepository,
  OutboxRepository,
  SilenceRepository,
  StatsRepository,
  Store,
  StreamEventRepository,
  WebhookRepository,
} from '../ports/store.js';
import { ClickHouseDb } from './clickhouse-db.js';
import { DAILY_PARTITIONED_TABLES } from './migrations/index.js';
import { runMigrations } from './migrator.js';
import { ClickHouseSilenceRepository, ClickHouseStatsRepository, ClickHouseStreamEventRepository } from './repositories/alerting.repository.js';
import { ClickHouseAuditRepository } from './repositories/audit.repository.js';
import { ClickHouseCheckpointRepository } from './repositories/checkpoint.repository.js';
import { ClickHouseAccessEventRepository } from './repositories/access-event.repository.js';
import { ClickHouseAnomalyRepository } from './repositories/anomaly.repository.js';
import { ClickHouseApiKeyRepository } from './repositories/api-key.repository.js';
import { ClickHouseDeadLetterRepository } from './repositories/dead-letter.repository.js';
import { ClickHouseIncidentRepository } from './repositories/incident.repository.js';
import { ClickHouseOutboxRepository } from './repositories/outbox.repository.js';
import { ClickHouseWebhookRepository } from './repositories/webhook.repository.js';
import { str, utcDay } from './rows.js';
import { ident, inList, sql } from './sql.js';

export interface ClickHouseStoreOptions {
  url: string;
  user: string;
  password: string;
  database: string;
  clock?: Clock;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Timeout of the health probe (default 2 s). */
  healthTimeoutMs?: number;
}

const DAY_MS = 86_400_000;

/**
 * Store over ClickHouse (HTTP, works on 18.16 and 24.x). Every value in a query goes through the escaper in
 * `sql.ts`; every insert is one JSONEachRow batch. The database is created by `migrate()` if absent.
 */
export class ClickHouseStore implements Store {
  readonly kind = 'clickhouse' as const;
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

  private readonly client: ClickHouseClient;
  private readonly db: ClickHouseDb;
  private readonly clock: Clock;
  private readonly healthTimeoutMs: number;

  constructor(opts: ClickHouseStoreOptions) {
    ident(opts.database); // fail at construction on a bad database name, not at the first query
    this.clock = opts.clock ?? systemClock;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.client = createClient({
      url: opts.url,
      username: opts.user,
      password: opts.password,
      request_timeout: opts.requestTimeoutMs ?? 30_000,
      application: 'vigil',
      // ClickHouse closes an idle keep-alive socket after 3 s (keep_alive_timeout before 23.11). Under CPU load the
      // client's 2.5 s idle timer fires late and a request goes out on a socket the server has just closed ("socket
      // hang up"; the 1M replay saw 210 such failed batches). Drop idle sockets well before that, and check their age
      // when taking one from the pool rather than trusting the timer.
      keep_alive: { enabled: true, idle_socket_ttl: 1_500, eagerly_destroy_stale_sockets: true },
      // Failures surface as rejected promises to the caller, which logs them once with context.
      log: { level: ClickHouseLogLevel.OFF },
    });
    this.db = new ClickHouseDb(this.client, opts.database);
    this.accessEvents = new ClickHouseAccessEventRepository(this.db);
    this.anomalies = new ClickHouseAnomalyRepository(this.db);
    this.incidents = new ClickHouseIncidentRepository(this.db);
    this.apiKeys = new ClickHouseApiKeyRepository(this.db);
    this.webhooks = new ClickHouseWebhookRepository(this.db);
    this.deadLetters = new ClickHouseDeadLetterRepository(this.db);
    this.silences = new ClickHouseSilenceRepository(this.db);
    this.streamEvents = new ClickHouseStreamEventRepository(this.db);
    this.stats = new ClickHouseStatsRepository(this.db);
    this.audit = new ClickHouseAuditRepository(this.db);
    this.checkpoints = new ClickHouseCheckpointRepository(this.db);
    this.outbox = new ClickHouseOutboxRepository(this.db);
  }

  get database(): string {
    return this.db.database;
  }

  migrate(): Promise<string[]> {
    return runMigrations(this.db, this.clock);
  }

  /**
   * Retention: drops every daily partition of the time-series tables (access_events, anomalies,
   * webhook_deliveries, dead_letters) whose UTC day lies before the day `days` days before the day of `now`
   * (days = 7 on the 10th keeps the 3rd onwards). Partitions are listed from `system.parts` and dropped with
   * `ALTER TABLE … DROP PARTITION ID`. Returns the `YYYYMMDD` days removed, ascending.
   */
  async dropOlderThan(days: number, now: number): Promise<string[]> {
    if (!Number.isInteger(days) || days < 0) throw new RangeError(`days must be a non-negative integer (got ${days})`);
    const cutoffDay = utcDay(Math.floor(now / DAY_MS) * DAY_MS - days * DAY_MS);
    const rows = await this.db.select(sql`SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = ${this.db.database} AND active AND table IN ${inList([...DAILY_PARTITIONED_TABLES])}
ORDER BY table, partition_id`);
    const removed = new Set<string>();
    for (const r of rows) {
      const table = str(r, 'table');
      const partition = str(r, 'partition_id');
      if (!/^\d{8}$/.test(partition) || partition >= cutoffDay) continue;
      await this.db.command(sql`ALTER TABLE ${this.db.table(table)} DROP PARTITION ID ${partition}`);
      removed.add(partition);
    }
    return [...removed].sort();
  }

  async health(): Promise<DependencyHealth> {
    try {
      const rows = await this.db.select(sql`SELECT 1 AS ok`, { abortSignal: AbortSignal.timeout(this.healthTimeoutMs) });
      const ok = rows[0]?.['ok'] === 1;
      return { name: 'clickhouse', ok, detail: ok ? 'SELECT 1 ok' : 'unexpected reply to SELECT 1' };
    } catch (e) {
      return { name: 'clickhouse', ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
