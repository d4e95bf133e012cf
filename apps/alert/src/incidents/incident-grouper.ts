import { createHash } from 'node:crypto';
import { SEVERITY_RANK, splitTokenIpEntity, type Anomaly, type EntityType, type Incident, type Severity } from '@vigil/contracts';

/**
 * Incident grouping and lifecycle, pure: (incident state, input, now) → (incident', events). No I/O, no clock;
 * every time comes from the anomaly (event time) or the caller's `now`.
 *
 * Determinism (two instances, or a replay, converge on the same record):
 * - the id is a hash of tenant + primary entity + the start of the group window the first anomaly fell in;
 * - every applied anomaly and every workflow action adds exactly 1 to `revision`, so the revision is a function of
 *   the anomaly set plus the actions; the store keeps the highest revision;
 * - severity, scores, first/last seen, detectors and related entities are max / min / set unions, so the order in
 *   which two instances see anomalies of one incident does not change the result (history entries may differ).
 */
export interface IncidentPolicy {
  /** Group window: anomalies of one entity in one window share a deterministic incident id. */
  groupWindowMs: number;
  /** An incident with no anomaly for this long (event time) is auto-resolved; a later anomaly opens a new one. */
  quietPeriodMs: number;
  /** Throttle: a non-escalating update notifies at most once per this long (event time). Escalations always notify. */
  renotifyAfterMs: number;
  /** At this many anomalies the incident's severity goes up one level (corroboration). */
  escalateAfterAnomalies: number;
  /** Caps that keep an incident record bounded. */
  maxRelated: number;
  maxAnomalyIds: number;
  /** How long a false-positive suppression lasts. */
  suppressionMs: number;
}

export const DEFAULT_INCIDENT_POLICY: IncidentPolicy = {
  groupWindowMs: 60 * 60_000,
  quietPeriodMs: 30 * 60_000,
  renotifyAfterMs: 15 * 60_000,
  escalateAfterAnomalies: 10,
  maxRelated: 50,
  maxAnomalyIds: 1000,
  suppressionMs: 24 * 60 * 60_000,
};

export type IncidentEventType = 'incident.opened' | 'incident.updated' | 'incident.resolved';
export interface IncidentEvent {
  type: IncidentEventType;
  incident: Incident;
}

/** `incident` is null when nothing changed (a duplicate anomaly); `events` are the notifications to send. */
export interface IncidentOutcome {
  incident: Incident | null;
  events: IncidentEvent[];
}

export interface EntityRef {
  type: EntityType;
  value: string;
}

const CONTRIBUTOR_IPS_AS_RELATED = 5;
const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/**
 * The entity an anomaly's incident is about, and entities related to it. A token_ip anomaly (`<token>|<ip>`) belongs
 * to the token's incident with the IP related; top contributor IPs of a non-IP anomaly are related too.
 */
export function incidentEntities(a: Anomaly): { primary: EntityRef; related: EntityRef[] } {
  const related: EntityRef[] = [];
  let primary: EntityRef = { type: a.entityType, value: a.entity };
  if (a.entityType === 'token_ip') {
    const split = splitTokenIpEntity(a.entity);
    if (split) {
      primary = { type: 'token', value: split.tokenId };
      related.push({ type: 'ip', value: split.ip });
    }
  }
  if (primary.type !== 'ip') {
    for (const c of a.contributors.ips.slice(0, CONTRIBUTOR_IPS_AS_RELATED)) related.push({ type: 'ip', value: c.value });
  }
  return { primary, related: uniqueRelated(related, primary, Number.MAX_SAFE_INTEGER) };
}

export function groupWindowStart(ts: number, policy: IncidentPolicy): number {
  return Math.floor(ts / policy.groupWindowMs) * policy.groupWindowMs;
}

export function incidentId(tenant: string, primary: EntityRef, windowStart: number): string {
  const h = createHash('sha256').update(`${tenant}\0${primary.type}\0${primary.value}\0${windowStart}`).digest('hex');
  return `inc_${h.slice(0, 32)}`;
}

/** The deterministic id an anomaly's incident has when the anomaly opens it. */
export function incidentIdFor(a: Anomaly, policy: IncidentPolicy): string {
  return incidentId(a.tenant, incidentEntities(a).primary, groupWindowStart(a.windowStart, policy));
}

/**
 * Which existing incident an anomaly joins, from the incidents of its primary entity: the most recent one still
 * active (not resolved, last anomaly within the quiet period); else the one with the anomaly's own deterministic id
 * (reopened if resolved); else none (the anomaly opens a new incident).
 */
export function chooseIncident(candidates: readonly Incident[], a: Anomaly, policy: IncidentPolicy): Incident | null {
  const { primary } = incidentEntities(a);
  const mine = candidates.filter((i) => i.tenant === a.tenant && i.entityType === primary.type && i.entity === primary.value);
  const active = mine
    .filter((i) => i.status !== 'resolved' && a.detectedAt - i.lastSeen < policy.quietPeriodMs)
    .sort((x, y) => y.lastSeen - x.lastSeen || (x.id < y.id ? -1 : 1));
  if (active[0]) return active[0];
  const own = incidentIdFor(a, policy);
  return mine.find((i) => i.id === own) ?? null;
}

/** Apply one anomaly to the incident it joins (`current`, from `chooseIncident`) or open a new one. */
export function applyAnomaly(current: Incident | null, a: Anomaly, policy: IncidentPolicy): IncidentOutcome {
  const { primary, related } = incidentEntities(a);
  if (!current) {
    const incident: Incident = {
      v: 1,
      id: incidentIdFor(a, policy),
      tenant: a.tenant,
      status: 'open',
      severity: severityAt(a.severity, 1, policy),
      title: titleFor(primary, a),
      entityType: primary.type,
      entity: primary.value,
      related: uniqueRelated(related, primary, policy.maxRelated),
      detectors: [a.detector],
      anomalyIds: [a.id],
      anomalyCount: 1,
      maxScore: a.score,
      explanation: a.explanation,
      firstSeen: a.windowStart,
      lastSeen: a.detectedAt,
      createdAt: a.detectedAt,
      updatedAt: a.detectedAt,
      resolvedAt: null,
      history: [{ at: a.detectedAt, actor: 'system', action: 'opened', reason: reasonOf(a) }],
      revision: 1,
    };
    return { incident, events: [{ type: 'incident.opened', incident }] };
  }
  if (current.anomalyIds.includes(a.id)) return { incident: null, events: [] };
  if (current.status !== 'resolved' && a.detectedAt - current.lastSeen >= policy.quietPeriodMs) {
    // Quiet for longer than the quiet period in event time (the sweep has not run yet): resolve, then reopen.
    const resolved = autoResolve(current, a.detectedAt, policy);
    if (resolved.incident) {
      const reopened = applyAnomaly(resolved.incident, a, policy);
      return { incident: reopened.incident, events: [...resolved.events, ...reopened.events] };
    }
  }

  const count = current.anomalyCount + 1;
  const crossed = current.anomalyCount < policy.escalateAfterAnomalies && count >= policy.escalateAfterAnomalies;
  const severity = crossed
    ? bump(maxSeverity(current.severity, a.severity))
    : maxSeverity(current.severity, severityAt(a.severity, count, policy));
  const reopened = current.status === 'resolved';
  const escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity];
  const history = [...current.history];
  const events: IncidentEventType[] = [];
  if (reopened) {
    history.push({ at: a.detectedAt, actor: 'system', action: 'reopened', reason: reasonOf(a) });
    events.push('incident.opened');
  } else if (escalated) {
    history.push({ at: a.detectedAt, actor: 'system', action: 'escalated', reason: `severity ${current.severity} → ${severity}: ${reasonOf(a)}` });
    events.push('incident.updated');
  } else if (a.detectedAt - lastNotifiedAt(current) >= policy.renotifyAfterMs) {
    history.push({ at: a.detectedAt, actor: 'system', action: 'updated', reason: `${count} anomalies: ${reasonOf(a)}` });
    events.push('incident.updated');
  }
  const incident: Incident = {
    ...current,
    status: reopened ? 'open' : current.status,
    resolvedAt: reopened ? null : current.resolvedAt,
    severity,
    related: uniqueRelated([...current.related, ...related], primary, policy.maxRelated),
    detectors: [...new Set([...current.detectors, a.detector])].sort(),
    anomalyIds: current.anomalyIds.length < policy.maxAnomalyIds ? [...current.anomalyIds, a.id] : current.anomalyIds,
    anomalyCount: count,
    maxScore: Math.max(current.maxScore, a.score),
    explanation: a.score > current.maxScore ? a.explanation : current.explanation,
    firstSeen: Math.min(current.firstSeen, a.windowStart),
    lastSeen: Math.max(current.lastSeen, a.detectedAt),
    createdAt: Math.min(current.createdAt, a.detectedAt),
    updatedAt: Math.max(current.updatedAt, a.detectedAt),
    history,
    revision: current.revision + 1,
  };
  return { incident, events: events.map((type) => ({ type, incident })) };
}

/** Auto-resolve after the quiet period. `resolvedAt` is lastSeen + quiet period, so every instance agrees. */
export function autoResolve(current: Incident, now: number, policy: IncidentPolicy): IncidentOutcome {
  if (current.status === 'resolved' || now - current.lastSeen < policy.quietPeriodMs) return { incident: null, events: [] };
  const at = current.lastSeen + policy.quietPeriodMs;
  const incident: Incident = {
    ...current,
    status: 'resolved',
    resolvedAt: at,
    updatedAt: Math.max(current.updatedAt, at),
    history: [...current.history, { at, actor: 'system', action: 'auto_resolved', reason: `no anomaly for ${Math.round(policy.quietPeriodMs / 60_000)} min` }],
    revision: current.revision + 1,
  };
  return { incident, events: [{ type: 'incident.resolved', incident }] };
}

export type WorkflowAction = 'acknowledge' | 'resolve' | 'false_positive';

export type WorkflowOutcome = { ok: true; incident: Incident; events: IncidentEvent[] } | { ok: false; reason: string };

/**
 * Workflow: open → acknowledged → resolved (resolve also straight from open). Marking a false positive resolves the
 * incident (or keeps it resolved) and is allowed once. Records who, when and why.
 */
export function applyWorkflow(current: Incident, action: WorkflowAction, actor: string, reason: string, now: number): WorkflowOutcome {
  const markedFalsePositive = current.history.some((h) => h.action === 'false_positive');
  if (action === 'acknowledge' && current.status !== 'open') return { ok: false, reason: `cannot acknowledge an incident that is ${current.status}` };
  if (action === 'resolve' && current.status === 'resolved') return { ok: false, reason: 'incident is already resolved' };
  if (action === 'false_positive' && markedFalsePositive) return { ok: false, reason: 'incident is already marked a false positive' };
  const resolves = action !== 'acknowledge';
  const at = Math.max(now, current.updatedAt);
  const incident: Incident = {
    ...current,
    status: resolves ? 'resolved' : 'acknowledged',
    resolvedAt: resolves ? (current.resolvedAt ?? at) : current.resolvedAt,
    updatedAt: at,
    history: [...current.history, { at, actor, action: action === 'acknowledge' ? 'acknowledged' : action === 'resolve' ? 'resolved' : 'false_positive', reason }],
    revision: current.revision + 1,
  };
  const type: IncidentEventType = resolves && current.status !== 'resolved' ? 'incident.resolved' : 'incident.updated';
  return { ok: true, incident, events: [{ type, incident }] };
}

// ---------------------------------------------------------------- helpers

function severityAt(s: Severity, count: number, policy: IncidentPolicy): Severity {
  return count >= policy.escalateAfterAnomalies ? bump(s) : s;
}

function bump(s: Severity): Severity {
  return SEVERITIES[Math.min(SEVERITIES.length - 1, SEVERITY_RANK[s])] ?? s;
}

function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

function lastNotifiedAt(i: Incident): number {
  let at = -Infinity;
  for (const h of i.history) if (h.action === 'opened' || h.action === 'reopened' || h.action === 'escalated' || h.action === 'updated') at = Math.max(at, h.at);
  return at;
}

function uniqueRelated(list: readonly EntityRef[], primary: EntityRef, max: number): EntityRef[] {
  const seen = new Set<string>([`${primary.type}\0${primary.value}`]);
  const out: EntityRef[] = [];
  for (const r of list) {
    const k = `${r.type}\0${r.value}`;
    if (seen.has(k) || out.length >= max) continue;
    seen.add(k);
    out.push({ type: r.type, value: r.value });
  }
  return out;
}

function reasonOf(a: Anomaly): string {
  return `${a.detector} ${a.metric} observed ${round(a.observed)} vs expected ${round(a.expected)} (score ${round(a.score)}, ${a.severity})`;
}

function titleFor(primary: EntityRef, a: Anomaly): string {
  const what: Record<EntityType, string> = { ip: 'IP', token: 'Token', endpoint: 'Endpoint', token_ip: 'Token from IP', tenant: 'Tenant' };
  return `${what[primary.type]} ${primary.value}: ${a.metric} anomaly`.slice(0, 512);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
