import { Anomaly, EntityType, SEVERITY_RANK, Severity, type Anomaly as AnomalyT } from '@vigil/contracts';
import type { AnomalyFilter, AnomalyRepository } from '../../ports/store.js';
import type { ClickHouseDb, Row } from '../clickhouse-db.js';
import { bool, limitOf, json, num, str, strArray } from '../rows.js';
import { inList, sql, where, type Sql } from '../sql.js';

const TABLE = 'anomalies';
const COLUMNS = sql`id, tenant, detector, entity_type, entity, metric, window_start, window_end, detected_at, early,
  observed, expected, lower, upper, score, severity, explanation, contributors, sample_event_ids`;
const Contributors = Anomaly.shape.contributors;

/** Severities at or above `min`, for `severity IN (…)`. */
export function severitiesAtLeast(min: Severity): Severity[] {
  return Severity.options.filter((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[min]);
}

function toRow(a: AnomalyT): Row {
  return {
    id: a.id, tenant: a.tenant, detector: a.detector, entity_type: a.entityType, entity: a.entity, metric: a.metric,
    window_start: a.windowStart, window_end: a.windowEnd, detected_at: a.detectedAt, early: a.early ? 1 : 0,
    observed: a.observed, expected: a.expected, lower: a.lower, upper: a.upper, score: a.score, severity: a.severity,
    explanation: a.explanation, contributors: JSON.stringify(a.contributors), sample_event_ids: a.sampleEventIds,
  };
}

function fromRow(r: Row): AnomalyT {
  return {
    v: 1, id: str(r, 'id'), tenant: str(r, 'tenant'), detector: str(r, 'detector'),
    entityType: EntityType.parse(str(r, 'entity_type')), entity: str(r, 'entity'), metric: str(r, 'metric'),
    windowStart: num(r, 'window_start'), windowEnd: num(r, 'window_end'), detectedAt: num(r, 'detected_at'),
    early: bool(r, 'early'), observed: num(r, 'observed'), expected: num(r, 'expected'), lower: num(r, 'lower'),
    upper: num(r, 'upper'), score: num(r, 'score'), severity: Severity.parse(str(r, 'severity')),
    explanation: str(r, 'explanation'), contributors: json(r, 'contributors', Contributors),
    sampleEventIds: strArray(r, 'sample_event_ids'),
  };
}

function conditions(f: AnomalyFilter): Sql[] {
  const c: Sql[] = [];
  if (f.tenant !== undefined) c.push(sql`tenant = ${f.tenant}`);
  if (f.detector !== undefined) c.push(sql`detector = ${f.detector}`);
  if (f.entityType !== undefined) c.push(sql`entity_type = ${f.entityType}`);
  if (f.entity !== undefined) c.push(sql`entity = ${f.entity}`);
  if (f.minSeverity !== undefined) c.push(sql`severity IN ${inList(severitiesAtLeast(f.minSeverity))}`);
  if (f.ids !== undefined) c.push(sql`id IN ${inList(f.ids)}`);
  if (f.from !== undefined) c.push(sql`detected_at >= ${f.from}`);
  if (f.to !== undefined) c.push(sql`detected_at < ${f.to}`);
  return c;
}

/** Anomalies: immutable, idempotent by id. Time ranges are [from, to) on detectedAt; lists are newest first (ties by id). */
export class ClickHouseAnomalyRepository implements AnomalyRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async insert(anomalies: AnomalyT[]): Promise<void> {
    await this.db.insert(TABLE, anomalies.map(toRow));
  }

  async get(id: string): Promise<AnomalyT | null> {
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)} WHERE id = ${id} LIMIT 1`);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(filter: AnomalyFilter): Promise<AnomalyT[]> {
    if (filter.ids?.length === 0) return [];
    const rows = await this.db.select(sql`SELECT ${COLUMNS} FROM ${this.db.table(TABLE)}
${where(conditions(filter))}
ORDER BY detected_at DESC, id ASC
LIMIT 1 BY id
LIMIT ${limitOf(filter.limit)}`);
    return rows.map(fromRow);
  }
}
