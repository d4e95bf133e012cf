import { Inject, Injectable } from '@nestjs/common';
import { EntityType, IncidentStatus, Severity, type AccessEvent, type Anomaly, type Incident } from '@vigil/contracts';
import { STORE, type Page, type Principal, type Store } from '@vigil/platform';
import { z } from 'zod';
import { canSee } from './change-incident-status.usecase.js';
import { NotFoundError, ValidationError } from './domain-errors.js';

const epochMs = z.coerce.number().int().nonnegative();
/** Only an admin key may read another tenant. */
const tenantParam = z.string().min(1).max(128).optional();

export const ListIncidentsQuery = z
  .object({
    tenant: tenantParam,
    from: epochMs.optional(),
    to: epochMs.optional(),
    severity: Severity.optional(),
    status: IncidentStatus.optional(),
    detector: z.string().min(1).max(64).optional(),
    entityType: EntityType.optional(),
    entity: z.string().min(1).max(1024).optional(),
    cursor: z.string().min(1).max(512).optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type ListIncidentsQuery = z.infer<typeof ListIncidentsQuery>;

export const ListAnomaliesQuery = z
  .object({
    tenant: tenantParam,
    from: epochMs.optional(),
    to: epochMs.optional(),
    severity: Severity.optional(),
    detector: z.string().min(1).max(64).optional(),
    entityType: EntityType.optional(),
    entity: z.string().min(1).max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type ListAnomaliesQuery = z.infer<typeof ListAnomaliesQuery>;

export const TopStatsQuery = z
  .object({ tenant: tenantParam, from: epochMs.optional(), to: epochMs.optional(), limit: z.coerce.number().int().min(1).max(100).default(10) })
  .strict();
export type TopStatsQuery = z.infer<typeof TopStatsQuery>;

export interface IncidentDetail {
  incident: Incident;
  anomalies: Anomaly[];
  sampleEvents: AccessEvent[];
}

const DETAIL_ANOMALIES = 100;
const SAMPLE_EVENTS = 50;

export function tenantFor(principal: Principal, requested: string | undefined): string {
  if (requested === undefined || requested === principal.tenant) return principal.tenant;
  if (!principal.scopes.includes('admin')) throw new ValidationError([`tenant: this key may only read tenant ${JSON.stringify(principal.tenant)}`]);
  return requested;
}

/** Read side of the REST API: incidents, their detail, anomalies, top offenders. Always scoped to a tenant. */
@Injectable()
export class IncidentQueries {
  constructor(@Inject(STORE) private readonly store: Store) {}

  list(principal: Principal, q: ListIncidentsQuery): Promise<Page<Incident>> {
    const { tenant, severity, ...rest } = q;
    return this.store.incidents.list({ ...rest, tenant: tenantFor(principal, tenant), ...(severity ? { minSeverity: severity } : {}) });
  }

  async detail(principal: Principal, id: string): Promise<IncidentDetail> {
    const incident = await this.store.incidents.get(id);
    if (!incident || !canSee(principal, incident)) throw new NotFoundError('incident', id);
    const ids = incident.anomalyIds.slice(-DETAIL_ANOMALIES);
    const anomalies = ids.length ? await this.store.anomalies.list({ tenant: incident.tenant, ids, limit: ids.length }) : [];
    const sampleIds = [...new Set(anomalies.flatMap((a) => a.sampleEventIds))].slice(0, SAMPLE_EVENTS);
    const sampleEvents = sampleIds.length ? await this.store.accessEvents.list({ tenant: incident.tenant, ids: sampleIds, limit: sampleIds.length }) : [];
    return { incident, anomalies, sampleEvents };
  }

  async anomalies(principal: Principal, q: ListAnomaliesQuery): Promise<{ items: Anomaly[] }> {
    const { tenant, severity, ...rest } = q;
    return { items: await this.store.anomalies.list({ ...rest, tenant: tenantFor(principal, tenant), ...(severity ? { minSeverity: severity } : {}) }) };
  }

  async top(principal: Principal, q: TopStatsQuery) {
    const base = { tenant: tenantFor(principal, q.tenant), limit: q.limit, ...(q.from !== undefined ? { from: q.from } : {}), ...(q.to !== undefined ? { to: q.to } : {}) };
    const [ips, tokens, endpoints] = await Promise.all(
      (['ip', 'token', 'endpoint'] as const).map((entityType) => this.store.stats.topEntities({ ...base, entityType })),
    );
    return { from: q.from ?? null, to: q.to ?? null, ips: ips ?? [], tokens: tokens ?? [], endpoints: endpoints ?? [] };
  }
}
