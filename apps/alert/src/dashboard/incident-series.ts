import { Inject, Injectable } from '@nestjs/common';
import type { AccessEvent, Anomaly, EntityType, Incident } from '@vigil/contracts';
import { STORE, VIGIL_CONFIG, type AccessEventFilter, type Principal, type Store, type VigilConfig } from '@vigil/platform';
import { z } from 'zod';
import { canSee } from '../incidents/change-incident-status.usecase.js';
import { NotFoundError } from '../incidents/domain-errors.js';

/**
 * The chart of an incident: its entity's observed value per window of one metric, against the baseline band the
 * detector reported.
 *
 * Where the numbers come from (nothing is invented):
 * - `observed`: recomputed from the stored access events of the entity, window by window, for the metrics the
 *   detector derives from access events (requests, auth_failures, errors_5xx, distinct_paths, distinct_ips,
 *   bytes_out, latency_p95). For other metrics (rule detectors: injection_*, deprecated_version, weak_tls, ...) it
 *   is the detector's own `observed` in the windows where it fired, null elsewhere.
 * - `expected` / `lower` / `upper`: the detector's baseline as reported in the incident's anomalies of that metric, so
 *   only in the windows where it fired; null elsewhere. The detector does not persist its baseline for quiet windows.
 * - A window for which the events could not all be read (more than SERIES_MAX_EVENTS in the range) has
 *   `observed: null` and `truncated: true` is set.
 */
export const SeriesQuery = z.object({ metric: z.string().min(1).max(64).optional() }).strict();
export type SeriesQuery = z.infer<typeof SeriesQuery>;

export interface SeriesPoint {
  /** Window start, epoch ms. */
  t: number;
  observed: number | null;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  /** True when the detector flagged this window (an anomaly of the incident). */
  anomalous: boolean;
}

export interface IncidentSeries {
  incidentId: string;
  /** The series' entity: the incident's, or (e.g. token×IP) the entity its anomalies of this metric are about. */
  entityType: EntityType;
  entity: string;
  metric: string;
  /** Metrics of the incident's anomalies, most frequent first (pick one with ?metric=). */
  metrics: string[];
  windowMs: number;
  /** `access_events`: observed recomputed from events; `anomalies`: only the detector's values where it fired. */
  observedSource: 'access_events' | 'anomalies';
  truncated: boolean;
  points: SeriesPoint[];
}

/** Metrics the detector computes from a window of access events, and how (mirrors apps/detector metrics-catalog). */
const EVENT_METRICS: Record<string, (events: AccessEvent[]) => number> = {
  requests: (e) => e.length,
  auth_failures: (e) => e.filter((x) => x.status === 401 || x.status === 403).length,
  errors_5xx: (e) => e.filter((x) => x.status >= 500).length,
  distinct_paths: (e) => new Set(e.map((x) => x.path)).size,
  distinct_ips: (e) => new Set(e.map((x) => x.clientIp)).size,
  bytes_out: (e) => e.reduce((s, x) => s + x.bytesOut, 0),
  latency_p95: (e) => quantile(e.map((x) => x.latencyMs), 0.95),
};

/** Windows shown before the first anomaly (context) and after the last one. */
export const WINDOWS_BEFORE = 30;
export const WINDOWS_AFTER = 5;
export const MAX_WINDOWS = 240;
export const SERIES_MAX_EVENTS = 50_000;

export function quantile(values: number[], q: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
}

/** The entity the chart is about and the access-event filter that selects its events (null: not selectable). */
export function entityFilter(entityType: EntityType, entity: string): { filter: AccessEventFilter; method?: string } | null {
  switch (entityType) {
    case 'ip':
      return { filter: { clientIp: entity } };
    case 'token':
      return { filter: { tokenId: entity } };
    case 'endpoint': {
      // The detector spells an endpoint `METHOD route`.
      const space = entity.indexOf(' ');
      return space > 0 ? { filter: { route: entity.slice(space + 1) }, method: entity.slice(0, space) } : { filter: { route: entity } };
    }
    case 'token_ip': {
      const bar = entity.lastIndexOf('|');
      return bar > 0 ? { filter: { tokenId: entity.slice(0, bar), clientIp: entity.slice(bar + 1) } } : null;
    }
    case 'tenant':
      return { filter: {} };
  }
}

/**
 * Pure: the points of the chart from the anomalies of the metric and (when readable) the entity's events.
 * `events === null` means observed comes from the anomalies only. `readFrom` is the oldest instant the events were
 * read completely from (windows before it are unknown).
 */
export function buildSeries(input: {
  from: number;
  windows: number;
  windowMs: number;
  anomalies: Anomaly[];
  events: AccessEvent[] | null;
  metric: string;
  readFrom: number;
}): SeriesPoint[] {
  const { from, windows, windowMs, anomalies, events, metric, readFrom } = input;
  const byWindow = new Map<number, Anomaly>();
  for (const a of anomalies) {
    const w = from + Math.floor((a.windowStart - from) / windowMs) * windowMs;
    const seen = byWindow.get(w);
    if (!seen || a.score > seen.score) byWindow.set(w, a);
  }
  const buckets = new Map<number, AccessEvent[]>();
  if (events) {
    for (const e of events) {
      const i = Math.floor((e.ts - from) / windowMs);
      if (i < 0 || i >= windows) continue;
      const w = from + i * windowMs;
      const b = buckets.get(w);
      if (b) b.push(e);
      else buckets.set(w, [e]);
    }
  }
  const compute = EVENT_METRICS[metric];
  const points: SeriesPoint[] = [];
  for (let i = 0; i < windows; i++) {
    const t = from + i * windowMs;
    const a = byWindow.get(t);
    let observed: number | null;
    if (events && compute) observed = t >= readFrom ? compute(buckets.get(t) ?? []) : null;
    else observed = a ? a.observed : null;
    points.push({
      t,
      observed,
      expected: a ? a.expected : null,
      lower: a ? a.lower : null,
      upper: a ? a.upper : null,
      anomalous: a !== undefined,
    });
  }
  return points;
}

/** Metrics of an incident's anomalies, most frequent first. */
export function metricsOf(anomalies: Anomaly[]): string[] {
  const counts = new Map<string, number>();
  for (const a of anomalies) counts.set(a.metric, (counts.get(a.metric) ?? 0) + 1);
  return [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([m]) => m);
}

/**
 * The entity the chart is drawn for: the incident's own when some anomaly of the metric is about it, else the entity
 * of the highest-scoring one (a token's incident made of token×IP anomalies charts that token×IP series). A band is
 * only ever drawn against the series it was computed for.
 */
export function chartTarget(incident: Pick<Incident, 'entityType' | 'entity'>, ofMetric: Anomaly[]): { entityType: EntityType; entity: string } {
  if (!ofMetric.length || ofMetric.some((a) => a.entityType === incident.entityType && a.entity === incident.entity)) {
    return { entityType: incident.entityType, entity: incident.entity };
  }
  const top = ofMetric.reduce((x, y) => (y.score > x.score ? y : x));
  return { entityType: top.entityType, entity: top.entity };
}

/** Read side of the dashboard's chart: GET /v1/incidents/:id/series. */
@Injectable()
export class IncidentSeriesQuery {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
  ) {}

  async series(principal: Principal, id: string, q: SeriesQuery): Promise<IncidentSeries> {
    const incident = await this.store.incidents.get(id);
    if (!incident || !canSee(principal, incident)) throw new NotFoundError('incident', id);
    const ids = incident.anomalyIds.slice(-1000);
    const all = ids.length ? await this.store.anomalies.list({ tenant: incident.tenant, ids, limit: ids.length }) : [];
    const metrics = metricsOf(all);
    const metric = q.metric ?? metrics[0] ?? 'requests';
    const ofMetric = all.filter((a) => a.metric === metric);
    const target = chartTarget(incident, ofMetric);
    const anomalies = ofMetric.filter((a) => a.entityType === target.entityType && a.entity === target.entity);
    const windowMs = anomalies[0] ? anomalies[0].windowEnd - anomalies[0].windowStart : this.config.detector.windowMs;
    const first = Math.min(incident.firstSeen, ...anomalies.map((a) => a.windowStart));
    const last = Math.max(incident.lastSeen, ...anomalies.map((a) => a.windowStart));
    let from = Math.floor(first / windowMs) * windowMs - WINDOWS_BEFORE * windowMs;
    const end = Math.floor(last / windowMs) * windowMs + (WINDOWS_AFTER + 1) * windowMs;
    if ((end - from) / windowMs > MAX_WINDOWS) from = end - MAX_WINDOWS * windowMs;
    const windows = Math.round((end - from) / windowMs);

    const selector = entityFilter(target.entityType, target.entity);
    let events: AccessEvent[] | null = null;
    let readFrom = from;
    let truncated = false;
    if (selector && EVENT_METRICS[metric] && target.entityType !== 'tenant') {
      const listed = await this.store.accessEvents.list({ ...selector.filter, tenant: incident.tenant, from, to: end, limit: SERIES_MAX_EVENTS });
      events = selector.method ? listed.filter((e) => e.method === selector.method) : listed;
      if (listed.length >= SERIES_MAX_EVENTS) {
        // Newest first: everything from the oldest event listed onwards is complete (its own window is not).
        truncated = true;
        const oldest = listed[listed.length - 1]?.ts ?? end;
        readFrom = from + (Math.floor((oldest - from) / windowMs) + 1) * windowMs;
      }
    }
    const points = buildSeries({ from, windows, windowMs, anomalies, events, metric, readFrom });
    return {
      incidentId: incident.id,
      entityType: target.entityType,
      entity: target.entity,
      metric,
      metrics: metrics.length ? metrics : [metric],
      windowMs,
      observedSource: events ? 'access_events' : 'anomalies',
      truncated,
      points,
    };
  }
}
