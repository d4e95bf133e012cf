import { EntityType, Incident, IncidentStatus, Severity } from '@vigil/contracts';
import type { IncidentFilter, IncidentRepository, Page } from '../../ports/store.js';
import { latestVersions, type ClickHouseDb, type Row } from '../clickhouse-db.js';
import { decodeIncidentCursor, encodeIncidentCursor } from '../../sqlite/incident-cursor.js';
import { limitOf, json, num, numOrNull, str, strArray } from '../rows.js';
import { inList, sql, type Sql } from '../sql.js';
import { severitiesAtLeast } from './anomaly.repository.js';

const TABLE = 'incidents';
const COLUMNS = sql`id, tenant, status, severity, title, entity_type, entity, related, detectors, anomaly_ids, anomaly_count,
  max_score, explanation, first_seen, last_seen, created_at, updated_at, resolved_at, history, revision`;
export const DEFAULT_INCIDENT_PAGE = 50;
export const MAX_INCIDENT_PAGE = 1000;

function toRow(i: Incident): Row {
  return {
    id: i.id, tenant: i.tenant, status: i.status, severity: i.severity, title: i.title, entity_type: i.entityType,
    entity: i.entity, related: JSON.stringify(i.related), detectors: i.detectors, anomaly_ids: i.anomalyIds,
    anomaly_count: i.anomalyCount, max_score: i.maxScore, explanation: i.explanation, first_seen: i.firstSeen,
    last_seen: i.lastSeen, created_at: i.createdAt, updated_at: i.updatedAt, resolved_at: i.resolvedAt,
    history: JSON.stringify(i.history), revision: i.revision,
  };
}

function fromRow(r: Row): Incident {
  return {
    v: 1, id: str(r, 'id'), tenant: str(r, 'tenant'), status: IncidentStatus.parse(str(r, 'status')),
    severity: Severity.parse(str(r, 'severity')), title: str(r, 'title'), entityType: EntityType.parse(str(r, 'entity_type')),
    entity: str(r, 'entity'), related: json(r, 'related', Incident.shape.related), detectors: strArray(r, 'detectors'),
    anomalyIds: strArray(r, 'anomaly_ids'), anomalyCount: num(r, 'anomaly_count'), maxScore: num(r, 'max_score'),
    explanation: str(r, 'explanation'), firstSeen: num(r, 'first_seen'), lastSeen: num(r, 'last_seen'),
    createdAt: num(r, 'created_at'), updatedAt: num(r, 'updated_at'), resolvedAt: numOrNull(r, 'resolved_at'),
    history: json(r, 'history', Incident.shape.history), revision: num(r, 'revision'),
  };
}

/**
 * Incidents: ReplacingMergeTree(revision), read through FINAL so only the highest revision is visible even before
 * merges; list filters (status, severity, lastSeen, cursor…) apply to the latest revision only (`latestVersions`),
 * so a stale revision can never match.
 */
export class ClickHouseIncidentRepository implements IncidentRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async upsert(incident: Incident): Promise<void> {
    await this.db.insert(TABLE, [toRow(incident)]);
  }

  async upsertMany(incidents: Incident[]): Promise<void> {
    if (incidents.length) await this.db.insert(TABLE, incidents.map(toRow));
  }

  /** One read: the latest revision of the tenant's incidents on those entity values, `LIMIT n BY` entity. */
  async recentOf(f: { tenant: string; entities: { type: EntityType; value: string }[]; limit: number }): Promise<Incident[]> {
    if (!f.entities.length) return [];
    const limit = limitOf(f.limit, DEFAULT_INCIDENT_PAGE, MAX_INCIDENT_PAGE);
    const values = [...new Set(f.entities.map((e) => e.value))];
    const rows = await this.db.select(sql`${latestVersions(this.db.table(TABLE), COLUMNS, [sql`tenant = ${f.tenant}`, sql`entity IN ${inList(values)}`])}
ORDER BY entity_type ASC, entity ASC, last_seen DESC, id DESC
LIMIT ${limit} BY entity_type, entity`);
    const wanted = new Set(f.entities.map((e) => `${e.type}\0${e.value}`));
    return rows.map(fromRow).filter((i) => wanted.has(`${i.entityType}\0${i.entity}`));
  }

  async get(id: string): Promise<Incident | null> {
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)} FINAL WHERE id = ${id}`);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /**
   * Keyset pagination by (lastSeen, id) in `order` (default desc); `nextCursor` is null on the last page.
   * A time range selects incidents active during it: lastSeen >= from and firstSeen < to.
   */
  async list(f: IncidentFilter): Promise<Page<Incident>> {
    const order = f.order === 'asc' ? 'asc' : 'desc';
    const limit = limitOf(f.limit, DEFAULT_INCIDENT_PAGE, MAX_INCIDENT_PAGE);

    const outer: Sql[] = [];
    if (f.tenant !== undefined) outer.push(sql`tenant = ${f.tenant}`);
    if (f.status !== undefined) outer.push(sql`status = ${f.status}`);
    if (f.minSeverity !== undefined) outer.push(sql`severity IN ${inList(severitiesAtLeast(f.minSeverity))}`);
    if (f.detector !== undefined) outer.push(sql`has(detectors, ${f.detector})`);
    if (f.entityType !== undefined) outer.push(sql`entity_type = ${f.entityType}`);
    if (f.entity !== undefined) outer.push(sql`entity = ${f.entity}`);
    if (f.from !== undefined) outer.push(sql`last_seen >= ${f.from}`);
    if (f.to !== undefined) outer.push(sql`first_seen < ${f.to}`);
    if (f.cursor !== undefined) {
      const c = decodeIncidentCursor(f.cursor);
      outer.push(
        order === 'asc'
          ? sql`(last_seen > ${c.lastSeen} OR (last_seen = ${c.lastSeen} AND id > ${c.id}))`
          : sql`(last_seen < ${c.lastSeen} OR (last_seen = ${c.lastSeen} AND id < ${c.id}))`,
      );
    }
    const orderBy = order === 'asc' ? sql`ORDER BY last_seen ASC, id ASC` : sql`ORDER BY last_seen DESC, id DESC`;
    const rows = await this.db.select(sql`${latestVersions(this.db.table(TABLE), COLUMNS, outer)}
${orderBy}
LIMIT ${limit + 1}`);
    const items = rows.slice(0, limit).map(fromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeIncidentCursor({ lastSeen: last.lastSeen, id: last.id }) : null };
  }
}
