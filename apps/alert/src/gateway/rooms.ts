import { SEVERITY_RANK, Severity, type EntityType, type Incident, type StreamEventRecord } from '@vigil/contracts';

/**
 * Rooms of the `/alerts` namespace. A subscription is one room, keyed by its whole filter
 * (`alerts:<tenant>|<minSeverity|*>|<entityType|*>|<entity|*>`); an event goes to every room whose filter it passes,
 * so a socket in several rooms still receives it once (socket.io dedupes a multi-room broadcast per socket).
 * The same predicate (`passes`) filters what a resuming client gets from the log, so replay and live agree.
 */
export interface StreamFilter {
  tenant: string;
  minSeverity?: Severity;
  entityType?: EntityType;
  entity?: string;
}

export interface StreamTarget {
  tenant: string;
  severity: Severity;
  /** The incident's primary and related entities, or the anomaly's entity. */
  entities: { type: EntityType; value: string }[];
}

export function roomOf(f: StreamFilter): string {
  return `alerts:${f.tenant}|${f.minSeverity ?? '*'}|${f.entityType ?? '*'}|${f.entity ?? '*'}`;
}

export function roomsFor(t: StreamTarget): string[] {
  const severities = ['*', ...Severity.options.filter((s) => SEVERITY_RANK[s] <= SEVERITY_RANK[t.severity])];
  const rooms = new Set<string>();
  for (const sev of severities) {
    rooms.add(`alerts:${t.tenant}|${sev}|*|*`);
    for (const e of t.entities) {
      rooms.add(`alerts:${t.tenant}|${sev}|${e.type}|*`);
      rooms.add(`alerts:${t.tenant}|${sev}|*|${e.value}`);
      rooms.add(`alerts:${t.tenant}|${sev}|${e.type}|${e.value}`);
    }
  }
  return [...rooms];
}

export function passes(f: StreamFilter, t: StreamTarget): boolean {
  return (
    f.tenant === t.tenant &&
    (f.minSeverity === undefined || SEVERITY_RANK[t.severity] >= SEVERITY_RANK[f.minSeverity]) &&
    (f.entityType === undefined && f.entity === undefined
      ? true
      : t.entities.some((e) => (f.entityType === undefined || e.type === f.entityType) && (f.entity === undefined || e.value === f.entity)))
  );
}

export function incidentTarget(i: Incident): StreamTarget {
  return { tenant: i.tenant, severity: i.severity, entities: [{ type: i.entityType, value: i.entity }, ...i.related] };
}

/** The target of a logged event, from its payload (so related entities count on replay as they did live). */
export function recordTarget(r: StreamEventRecord): StreamTarget {
  if (r.type !== 'anomaly.detected') {
    const payload = JSON.parse(r.payload) as { incident?: Incident };
    if (payload.incident) return incidentTarget(payload.incident);
  }
  return { tenant: r.tenant, severity: r.severity, entities: [{ type: r.entityType, value: r.entity }] };
}
