import { Inject, Injectable } from '@nestjs/common';
import type { Anomaly, Incident, Silence } from '@vigil/contracts';
import { LOGGER, MetricsService, STORE, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { StreamPublisher } from '../gateway/stream-publisher.js';
import { silencing } from '../silences/silence-matcher.js';
import { applyAnomaly, chooseIncident, incidentEntities, type IncidentEvent, type IncidentPolicy } from './incident-grouper.js';
import { INCIDENT_POLICY } from './incident-policy.js';

export interface ProcessedBatch {
  /** Incidents written (opened or changed). */
  incidents: number;
  silenced: number;
  duplicates: number;
  events: IncidentEvent[];
}

const CANDIDATES = 20;

/**
 * Anomalies → incidents. Stores every anomaly (idempotent by id); silenced ones stop there. The others are grouped
 * with the incidents of their primary entity read from the store (the source of truth shared by every instance),
 * upserted (the higher revision wins), then logged and broadcast as live events and published for webhooks.
 * Safe to re-run on the same batch: duplicates change nothing and notify nobody.
 */
@Injectable()
export class ProcessAnomalies {
  private readonly log: Logger;
  private readonly counted: Counter<'outcome'>;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(INCIDENT_POLICY) private readonly policy: IncidentPolicy,
    private readonly publisher: StreamPublisher,
    @Inject(LOGGER) logger: Logger,
    metrics: MetricsService,
  ) {
    this.log = logger.child({ component: 'process-anomalies' });
    this.counted = metrics.counter({ name: 'vigil_alert_anomalies_total', help: 'Anomalies processed, by outcome', labelNames: ['outcome'] });
  }

  async execute(batch: readonly Anomaly[]): Promise<ProcessedBatch> {
    const anomalies = [...batch].sort((a, b) => a.detectedAt - b.detectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.store.anomalies.insert(anomalies);
    const silences = await this.silencesFor(anomalies);
    const byEntity = new Map<string, Incident[]>();
    const live: Anomaly[] = [];
    const events: IncidentEvent[] = [];
    const written = new Set<string>();
    let silenced = 0;
    let duplicates = 0;
    for (const a of anomalies) {
      if (silencing(silences.get(a.tenant) ?? [], a)) {
        silenced += 1;
        this.counted.inc({ outcome: 'silenced' });
        continue;
      }
      const { primary } = incidentEntities(a);
      const key = `${a.tenant}\0${primary.type}\0${primary.value}`;
      let candidates = byEntity.get(key);
      if (!candidates) {
        candidates = (await this.store.incidents.list({ tenant: a.tenant, entityType: primary.type, entity: primary.value, limit: CANDIDATES })).items;
        byEntity.set(key, candidates);
      }
      const out = applyAnomaly(chooseIncident(candidates, a, this.policy), a, this.policy);
      if (!out.incident) {
        duplicates += 1;
        this.counted.inc({ outcome: 'duplicate' });
        continue;
      }
      live.push(a);
      const next = out.incident;
      await this.store.incidents.upsert(next);
      byEntity.set(key, [next, ...candidates.filter((i) => i.id !== next.id)]);
      written.add(next.id);
      events.push(...out.events);
      this.counted.inc({ outcome: 'grouped' });
    }
    await this.publisher.anomalies(live);
    await this.publisher.incidents(events);
    if (silenced || events.length) this.log.debug({ anomalies: anomalies.length, silenced, duplicates, events: events.length }, 'anomalies processed');
    return { incidents: written.size, silenced, duplicates, events };
  }

  /** Silences of each tenant in the batch that are in force at some point of the batch's event-time range. */
  private async silencesFor(anomalies: readonly Anomaly[]): Promise<Map<string, Silence[]>> {
    const out = new Map<string, Silence[]>();
    if (!anomalies.length) return out;
    const earliest = Math.min(...anomalies.map((a) => a.detectedAt));
    for (const tenant of new Set(anomalies.map((a) => a.tenant))) {
      out.set(tenant, await this.store.silences.list({ tenant, endsAfter: earliest }));
    }
    return out;
  }
}
