import { EntityType, Severity, Silence, StreamEventType, type StreamEventRecord } from '@vigil/contracts';
import type { EntityAnomalyCount, SilenceFilter, SilenceRepository, StatsRepository, StreamEventRepository, TimeRange } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { bool, json, limitOf, num, str } from '../rows.js';
import { sql, where, type Sql } from '../sql.js';

const SILENCE_COLUMNS = sql`id, tenant, kind, matchers, starts_at, ends_at, reason, created_by, created_at, updated_at, deleted`;
const STREAM_COLUMNS = sql`event_id, tenant, type, at, severity, entity_type, entity, payload`;

function silenceFromRow(r: Row): Silence {
  return {
    v: 1, id: str(r, 'id'), tenant: str(r, 'tenant'), kind: Silence.shape.kind.parse(str(r, 'kind')),
    matchers: json(r, 'matchers', Silence.shape.matchers), startsAt: num(r, 'starts_at'), endsAt: num(r, 'ends_at'),
    reason: str(r, 'reason'), createdBy: str(r, 'created_by'), createdAt: num(r, 'created_at'), updatedAt: num(r, 'updated_at'),
    deleted: bool(r, 'deleted'),
  };
}

/** Silences: ReplacingMergeTree(updated_at) through FINAL; filters on mutable columns apply outside the FINAL read. */
export class ClickHouseSilenceRepository implements SilenceRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async put(s: Silence): Promise<void> {
    await this.db.insert('silences', [{
      id: s.id, tenant: s.tenant, kind: s.kind, matchers: JSON.stringify(s.matchers), starts_at: s.startsAt, ends_at: s.endsAt,
      reason: s.reason, created_by: s.createdBy, created_at: s.createdAt, updated_at: s.updatedAt, deleted: s.deleted ? 1 : 0,
    }]);
  }

  async get(id: string): Promise<Silence | null> {
    const rows = await this.db.select(sql`SELECT ${SILENCE_COLUMNS} FROM ${this.db.table('silences')} FINAL WHERE id = ${id}`);
    return rows[0] ? silenceFromRow(rows[0]) : null;
  }

  async list(f: SilenceFilter): Promise<Silence[]> {
    const inner: Sql[] = [];
    if (f.tenant !== undefined) inner.push(sql`tenant = ${f.tenant}`);
    const outer: Sql[] = [sql`deleted = 0`];
    if (f.kind !== undefined) outer.push(sql`kind = ${f.kind}`);
    if (f.activeAt !== undefined) outer.push(sql`starts_at <= ${f.activeAt} AND ends_at > ${f.activeAt}`);
    if (f.endsAfter !== undefined) outer.push(sql`ends_at > ${f.endsAfter}`);
    const rows = await this.db.select(sql`SELECT ${SILENCE_COLUMNS} FROM (
  SELECT ${SILENCE_COLUMNS} FROM ${this.db.table('silences')} FINAL ${where(inner)}
)
${where(outer)}
ORDER BY starts_at ASC, id ASC
LIMIT ${limitOf(f.limit)}`);
    return rows.map(silenceFromRow);
  }
}

/** The live-event log: append-only, a redelivered event id is read once (`LIMIT 1 BY event_id`). */
export class ClickHouseStreamEventRepository implements StreamEventRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async append(events: StreamEventRecord[]): Promise<void> {
    await this.db.insert('stream_events', events.map((e) => ({
      event_id: e.eventId, tenant: e.tenant, type: e.type, at: e.at, severity: e.severity, entity_type: e.entityType,
      entity: e.entity, payload: e.payload,
    })));
  }

  async listAfter(f: { tenant?: string; afterEventId?: string; limit?: number }): Promise<StreamEventRecord[]> {
    const c: Sql[] = [];
    if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
    if (f.afterEventId !== undefined) c.push(sql`event_id > ${f.afterEventId}`);
    const rows = await this.db.select(sql`SELECT ${STREAM_COLUMNS} FROM ${this.db.table('stream_events')}
${where(c)}
ORDER BY event_id ASC
LIMIT 1 BY event_id
LIMIT ${limitOf(f.limit)}`);
    return rows.map((r) => ({
      eventId: str(r, 'event_id'), tenant: str(r, 'tenant'), type: StreamEventType.parse(str(r, 'type')), at: num(r, 'at'),
      severity: Severity.parse(str(r, 'severity')), entityType: EntityType.parse(str(r, 'entity_type')), entity: str(r, 'entity'),
      payload: str(r, 'payload'),
    }));
  }
}

/** Aggregates over the anomalies table (deduplicated by id first, as every anomaly read is). */
export class ClickHouseStatsRepository implements StatsRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async topEntities(f: TimeRange & { tenant?: string; entityType: EntityType; limit?: number }): Promise<EntityAnomalyCount[]> {
    const c: Sql[] = [sql`entity_type = ${f.entityType}`];
    if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
    if (f.from !== undefined) c.push(sql`detected_at >= ${f.from}`);
    if (f.to !== undefined) c.push(sql`detected_at < ${f.to}`);
    const rows = await this.db.select(sql`SELECT entity, count() AS n, max(score) AS max_score,
  max(multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, 1)) AS max_rank, max(detected_at) AS last
FROM (SELECT id, entity, score, severity, detected_at FROM ${this.db.table('anomalies')} ${where(c)} LIMIT 1 BY id)
GROUP BY entity
ORDER BY n DESC, entity ASC
LIMIT ${limitOf(f.limit, 10, 1000)}`);
    const bySeverity: Severity[] = ['low', 'low', 'medium', 'high', 'critical'];
    return rows.map((r) => ({
      entityType: f.entityType, entity: str(r, 'entity'), anomalies: num(r, 'n'), maxScore: num(r, 'max_score'),
      maxSeverity: bySeverity[num(r, 'max_rank')] ?? 'low', lastDetectedAt: num(r, 'last'),
    }));
  }
}
