import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { TOPICS, rekeyedKey, type DetectorFeedback, type Incident, type Silence } from '@vigil/contracts';
import { CLOCK, EVENT_BUS, STORE, type Clock, type EventBus, type Principal, type Store } from '@vigil/platform';
import { StreamPublisher } from '../gateway/stream-publisher.js';
import { SilenceCache } from '../silences/silence-cache.js';
import { InvalidTransitionError, NotFoundError } from './domain-errors.js';
import { applyWorkflow, type IncidentPolicy, type WorkflowAction } from './incident-grouper.js';
import { INCIDENT_POLICY } from './incident-policy.js';
import { OutboxRelay } from './outbox-relay.js';

const FEEDBACK_ANOMALIES = 200;

/**
 * acknowledge / resolve / false-positive, by a person (the actor is the API key id). A false positive also creates
 * an expiring suppression (one silence per detector, for the incident's entity) and tells the detector to leave
 * the windows of the incident's anomalies out of its baseline (DetectorFeedback on `vigil.detector-feedback`).
 * The notification goes through the outbox: recorded before the incident is written, sent (logged, broadcast,
 * published) and settled after; a failure once the incident is written does not fail the action, the OutboxRelay
 * sends what was left pending.
 */
@Injectable()
export class ChangeIncidentStatus {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(INCIDENT_POLICY) private readonly policy: IncidentPolicy,
    private readonly publisher: StreamPublisher,
    private readonly outbox: OutboxRelay,
    @Optional() private readonly silenceCache?: SilenceCache,
  ) {}

  async execute(principal: Principal, id: string, action: WorkflowAction, reason: string): Promise<Incident> {
    const current = await this.store.incidents.get(id);
    if (!current || !canSee(principal, current)) throw new NotFoundError('incident', id);
    const now = this.clock.now();
    const out = applyWorkflow(current, action, principal.keyId, reason, now);
    if (!out.ok) throw new InvalidTransitionError(out.reason);
    const prepared = this.publisher.prepare([], out.events);
    await this.publisher.recorded(prepared);
    await this.store.incidents.upsert(out.incident);
    if (action === 'false_positive') await this.suppress(out.incident, principal, reason, now);
    await this.outbox.sendRecorded(prepared);
    return out.incident;
  }

  private async suppress(incident: Incident, principal: Principal, reason: string, now: number): Promise<void> {
    for (const detector of incident.detectors) {
      const silence: Silence = {
        v: 1,
        id: `sup_${createHash('sha256').update(`${incident.id}\0${detector}`).digest('hex').slice(0, 24)}`,
        tenant: incident.tenant,
        kind: 'suppression',
        matchers: [
          { field: 'detector', value: detector },
          { field: 'entityType', value: incident.entityType },
          { field: 'entity', value: incident.entity },
        ],
        startsAt: now,
        endsAt: now + this.policy.suppressionMs,
        reason: `false positive (incident ${incident.id}): ${reason}`,
        createdBy: principal.keyId,
        createdAt: now,
        updatedAt: now,
        deleted: false,
      };
      await this.store.silences.put(silence);
    }
    this.silenceCache?.changed();
    const ids = incident.anomalyIds.slice(-FEEDBACK_ANOMALIES);
    const anomalies = ids.length ? await this.store.anomalies.list({ ids, limit: ids.length }) : [];
    const feedback: DetectorFeedback[] = anomalies.map((a) => ({
      v: 1, anomalyId: a.id, tenant: a.tenant, entityType: a.entityType, entity: a.entity, detector: a.detector,
      windowStart: a.windowStart, verdict: 'false_positive', at: now, actor: principal.keyId,
    }));
    if (feedback.length) await this.bus.publish(TOPICS.detectorFeedback, feedback.map((f) => ({ key: rekeyedKey(f), value: JSON.stringify(f) })));
  }
}

export function canSee(principal: Principal, record: { tenant: string }): boolean {
  return record.tenant === principal.tenant || principal.scopes.includes('admin');
}
