import { z } from 'zod';
import { EntityType, EpochMs, Severity, Tenant } from './common.js';

export const Contributor = z.object({ value: z.string(), count: z.number().int().nonnegative() });
export type Contributor = z.infer<typeof Contributor>;

export const Anomaly = z.object({
  v: z.literal(1),
  /** Deterministic: hash of detector + entity + window start, so replays never duplicate. */
  id: z.string().min(1).max(128),
  tenant: Tenant,
  detector: z.string().min(1).max(64),
  entityType: EntityType,
  entity: z.string().min(1).max(1024),
  metric: z.string().min(1).max(64),
  windowStart: EpochMs,
  windowEnd: EpochMs,
  /** Event time at which it fired (may be before windowEnd when fired early). */
  detectedAt: EpochMs,
  early: z.boolean(),
  observed: z.number(),
  expected: z.number(),
  lower: z.number(),
  upper: z.number(),
  /** Calibrated 0–1: one threshold means the same across entities. */
  score: z.number().min(0).max(1),
  severity: Severity,
  explanation: z.string().max(4096),
  contributors: z.object({
    ips: z.array(Contributor),
    paths: z.array(Contributor),
    statuses: z.array(Contributor),
  }),
  sampleEventIds: z.array(z.string()).max(50),
});
export type Anomaly = z.infer<typeof Anomaly>;

export function anomalyKey(a: Pick<Anomaly, 'tenant' | 'entityType' | 'entity'>): string {
  return `${a.tenant}|${a.entityType}|${a.entity}`;
}
