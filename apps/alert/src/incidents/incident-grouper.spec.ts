import type { Anomaly, Incident, Severity } from '@vigil/contracts';
import { anAnomaly } from '@vigil/testing';
import {
  applyAnomaly,
  applyWorkflow,
  autoResolve,
  chooseIncident,
  DEFAULT_INCIDENT_POLICY,
  incidentIdFor,
  type IncidentPolicy,
  type WorkflowAction,
} from './incident-grouper.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const policy: IncidentPolicy = { ...DEFAULT_INCIDENT_POLICY, groupWindowMs: 60 * MIN, quietPeriodMs: 30 * MIN, renotifyAfterMs: 15 * MIN, escalateAfterAnomalies: 5 };

/** An anomaly of entity `entity` whose window starts `minute` minutes after T0. */
function at(minute: number, overrides: Partial<Anomaly> = {}): Anomaly {
  const windowStart = T0 + minute * MIN;
  return anAnomaly({ windowStart, windowEnd: windowStart + MIN, detectedAt: windowStart + MIN, severity: 'medium', score: 0.8, ...overrides });
}

/** Group a sequence of anomalies the way the use case does (choose among known incidents, then apply). */
function run(anomalies: Anomaly[], p: IncidentPolicy = policy): { incidents: Map<string, Incident>; events: { type: string; id: string }[] } {
  const incidents = new Map<string, Incident>();
  const events: { type: string; id: string }[] = [];
  for (const a of anomalies) {
    const out = applyAnomaly(chooseIncident([...incidents.values()], a, p), a, p);
    if (out.incident) incidents.set(out.incident.id, out.incident);
    events.push(...out.events.map((e) => ({ type: e.type, id: e.incident.id })));
  }
  return { incidents, events };
}

describe('incident grouping', () => {
  describe('open', () => {
    it('groups anomalies of one entity into one incident and counts them', () => {
      const { incidents, events } = run([at(0), at(1, { detector: 'error-ratio' }), at(2)]);
      expect(incidents.size).toBe(1);
      const [i] = [...incidents.values()];
      expect(i).toMatchObject({ entityType: 'ip', entity: '203.0.113.7', anomalyCount: 3, revision: 3, status: 'open', detectors: ['error-ratio', 'rate-zscore'] });
      expect(i?.firstSeen).toBe(T0);
      expect(i?.lastSeen).toBe(T0 + 3 * MIN);
      expect(events).toEqual([{ type: 'incident.opened', id: i?.id }]);
    });

    it.each([
      ['another entity', at(0), at(1, { entity: '198.51.100.1' })],
      ['another tenant', at(0), at(1, { tenant: 'globex' })],
      ['the same entity after the quiet period, in the next group window', at(0), at(75)],
    ])('opens a separate incident for %s', (_label, first, second) => {
      expect(run([first, second]).incidents.size).toBe(2);
    });
  });

  describe('deterministic ids', () => {
    it.each([
      ['same tenant, entity and group window', true, at(0), at(59)],
      ['next group window', false, at(0), at(60)],
      ['another detector, same entity', true, at(0), at(10, { detector: 'error-ratio' })],
      ['another tenant', false, at(0), at(0, { tenant: 'globex' })],
    ])('%s → same id: %p', (_label, same, a, b) => {
      expect(incidentIdFor(a, policy) === incidentIdFor(b, policy)).toBe(same);
    });

    it('gives the same incident (id, revision, severity, counts) whatever the order two instances see the anomalies in', () => {
      const anomalies = [at(0), at(1, { severity: 'high', score: 0.95 }), at(2, { detector: 'error-ratio' }), at(3, { severity: 'low' })];
      const forward = [...run(anomalies).incidents.values()][0];
      const backward = [...run([...anomalies].reverse()).incidents.values()][0];
      const pick = (i: Incident | undefined) => i && { id: i.id, revision: i.revision, severity: i.severity, anomalyCount: i.anomalyCount, maxScore: i.maxScore, firstSeen: i.firstSeen, lastSeen: i.lastSeen, detectors: i.detectors };
      expect(pick(backward)).toEqual(pick(forward));
      expect(forward).toMatchObject({ revision: 4, severity: 'high', maxScore: 0.95 });
    });
  });

  describe('related entities', () => {
    it('puts a token_ip anomaly into the token incident and lists the IP as related', () => {
      const token = at(0, { entityType: 'token', entity: 'consumer-mobile-app', contributors: { ips: [], paths: [], statuses: [] } });
      const pair = at(2, { entityType: 'token_ip', entity: 'consumer-mobile-app|198.51.100.23', contributors: { ips: [], paths: [], statuses: [] } });
      const { incidents } = run([token, pair]);
      expect(incidents.size).toBe(1);
      expect([...incidents.values()][0]).toMatchObject({ entityType: 'token', entity: 'consumer-mobile-app', anomalyCount: 2, related: [{ type: 'ip', value: '198.51.100.23' }] });
    });

    it('lists the top contributor IPs of a token anomaly as related, without duplicates', () => {
      const contributors = { ips: [{ value: '192.0.2.1', count: 40 }, { value: '192.0.2.2', count: 30 }], paths: [], statuses: [] };
      const { incidents } = run([at(0, { entityType: 'token', entity: 'tok-1', contributors }), at(1, { entityType: 'token', entity: 'tok-1', contributors })]);
      expect([...incidents.values()][0]?.related).toEqual([{ type: 'ip', value: '192.0.2.1' }, { type: 'ip', value: '192.0.2.2' }]);
    });

    it('opens a token_ip anomaly with a malformed entity as its own incident', () => {
      const { incidents } = run([at(0, { entityType: 'token_ip', entity: 'no-separator' })]);
      expect([...incidents.values()][0]).toMatchObject({ entityType: 'token_ip', entity: 'no-separator' });
    });
  });

  describe('dedupe and throttle', () => {
    it('ignores an anomaly it has already grouped (replay): no change, no notification', () => {
      const a = at(0);
      const first = applyAnomaly(null, a, policy);
      expect(applyAnomaly(first.incident, a, policy)).toEqual({ incident: null, events: [] });
    });

    it.each([
      ['within the re-notify interval', [], 10],
      ['after the re-notify interval', ['incident.updated'], 16],
    ])('a same-severity anomaly %s notifies %j', (_label, expected, minute) => {
      const { events } = run([at(0), at(minute)]);
      expect(events.slice(1).map((e) => e.type)).toEqual(expected);
    });
  });

  describe('escalation', () => {
    it.each<[string, Severity[], Severity, number]>([
      ['a higher-severity anomaly raises the incident at once', ['medium', 'critical'], 'critical', 1],
      ['a lower one does not lower it', ['high', 'low'], 'high', 0],
      ['the 5th anomaly (corroboration) raises it one level', ['medium', 'medium', 'medium', 'medium', 'medium'], 'high', 1],
      ['corroboration stops at critical', ['critical', 'critical', 'critical', 'critical', 'critical'], 'critical', 0],
    ])('%s', (_label, severities, expected, escalations) => {
      const { incidents, events } = run(severities.map((severity, n) => at(n, { severity })));
      const i = [...incidents.values()][0];
      expect(i?.severity).toBe(expected);
      expect(i?.history.filter((h) => h.action === 'escalated')).toHaveLength(escalations);
      expect(events.filter((e) => e.type === 'incident.updated')).toHaveLength(escalations);
    });
  });

  describe('auto-resolve', () => {
    const open = applyAnomaly(null, at(0), policy).incident as Incident;
    it.each([
      ['just before the quiet period ends', null, 29],
      ['once the quiet period has passed', 'resolved', 31],
    ])('%s → %p', (_label, status, minutesAfterLastSeen) => {
      const out = autoResolve(open, open.lastSeen + minutesAfterLastSeen * MIN, policy);
      expect(out.incident?.status ?? null).toBe(status);
    });

    it('resolves at lastSeen + quiet period, whenever the sweep runs, so instances agree', () => {
      const a = autoResolve(open, open.lastSeen + 31 * MIN, policy).incident;
      const b = autoResolve(open, open.lastSeen + 90 * MIN, policy).incident;
      expect(a).toEqual(b);
      expect(a).toMatchObject({ resolvedAt: open.lastSeen + 30 * MIN, revision: 2, history: expect.arrayContaining([expect.objectContaining({ action: 'auto_resolved' })]) });
    });

    it('resolves and reopens an incident that went quiet in event time before the sweep ran (same group window)', () => {
      const { incidents, events } = run([at(0), at(45)]);
      expect(incidents.size).toBe(1);
      expect(events.map((e) => e.type)).toEqual(['incident.opened', 'incident.resolved', 'incident.opened']);
      expect([...incidents.values()][0]?.history.map((h) => h.action)).toEqual(['opened', 'auto_resolved', 'reopened']);
    });

    it('reopens the resolved incident when a new anomaly falls in its group window', () => {
      const resolved = autoResolve(open, open.lastSeen + 31 * MIN, policy).incident as Incident;
      const late = at(50);
      const out = applyAnomaly(chooseIncident([resolved], late, policy), late, policy);
      expect(out.incident).toMatchObject({ id: open.id, status: 'open', resolvedAt: null, revision: 3 });
      expect(out.events.map((e) => e.type)).toEqual(['incident.opened']);
    });
  });

  describe('workflow', () => {
    const open = applyAnomaly(null, at(0), policy).incident as Incident;
    const acked = (applyWorkflow(open, 'acknowledge', 'key-1', 'looking', T0 + 10 * MIN) as { incident: Incident }).incident;
    const resolved = (applyWorkflow(open, 'resolve', 'key-1', 'fixed', T0 + 10 * MIN) as { incident: Incident }).incident;
    it.each<[string, WorkflowAction, string | null, Incident]>([
      ['open', 'acknowledge', 'acknowledged', open],
      ['open', 'resolve', 'resolved', open],
      ['open', 'false_positive', 'resolved', open],
      ['acknowledged', 'acknowledge', null, acked],
      ['acknowledged', 'resolve', 'resolved', acked],
      ['resolved', 'acknowledge', null, resolved],
      ['resolved', 'resolve', null, resolved],
      ['resolved', 'false_positive', 'resolved', resolved],
    ])('%s + %s → %p', (_from, action, status, incident) => {
      const out = applyWorkflow(incident, action, 'key-2', 'why', T0 + 20 * MIN);
      expect(out.ok ? out.incident.status : null).toBe(status);
    });

    it('records who, when and why, and bumps the revision', () => {
      expect(acked.history.at(-1)).toEqual({ at: T0 + 10 * MIN, actor: 'key-1', action: 'acknowledged', reason: 'looking' });
      expect(acked.revision).toBe(open.revision + 1);
    });

    it('refuses a second false-positive verdict', () => {
      const fp = (applyWorkflow(open, 'false_positive', 'k', 'noise', T0) as { incident: Incident }).incident;
      expect(applyWorkflow(fp, 'false_positive', 'k', 'again', T0)).toEqual({ ok: false, reason: expect.stringContaining('false positive') });
    });
  });
});
