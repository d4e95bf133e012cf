import type { Anomaly, Silence, SilenceMatcher } from '@vigil/contracts';

/** Value of an anomaly field a matcher compares with. */
function fieldOf(a: Anomaly, m: SilenceMatcher): string {
  switch (m.field) {
    case 'detector':
      return a.detector;
    case 'entityType':
      return a.entityType;
    case 'entity':
      return a.entity;
    case 'metric':
      return a.metric;
    case 'severity':
      return a.severity;
  }
}

function matches(a: Anomaly, m: SilenceMatcher): boolean {
  const v = fieldOf(a, m);
  if (m.field === 'entity' && m.value.endsWith('*')) return v.startsWith(m.value.slice(0, -1));
  return v === m.value;
}

/**
 * The silence (if any) that mutes an anomaly: same tenant, in force at the anomaly's event time
 * (startsAt <= detectedAt < endsAt), not deleted, every matcher equal (an `entity` ending in `*` matches a prefix).
 * No matchers = the whole tenant (a maintenance window).
 */
export function silencing(silences: readonly Silence[], a: Anomaly): Silence | null {
  return (
    silences.find(
      (s) => !s.deleted && s.tenant === a.tenant && s.startsAt <= a.detectedAt && a.detectedAt < s.endsAt && s.matchers.every((m) => matches(a, m)),
    ) ?? null
  );
}
