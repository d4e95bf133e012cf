import { z } from 'zod';
import { EntityType, EpochMs, Tenant } from './common.js';

/**
 * Detector-internal re-keying (topic `vigil.detector.rekeyed`). The access-event consumer owns the IP entities
 * (access events are keyed by tenant + IP); for every other entity type it folds one batch into per-entity,
 * per-window partial aggregates and publishes them keyed by `rekeyedKey`, so each entity's state lives on exactly
 * one detector instance. `agg` is the detector's own mergeable window encoding, versioned inside the detector.
 */
export const RekeyedPartial = z.object({
  v: z.literal(1),
  tenant: Tenant,
  entityType: EntityType,
  entity: z.string().min(1).max(1024),
  windowStart: EpochMs,
  /** Where the folded events came from: access-event partition and the last offset included (dedup on replay). */
  source: z.object({
    partition: z.number().int().nonnegative(),
    lastOffset: z.string().regex(/^\d+$/),
    /** Position of this partial among those published for the same source batch. */
    seq: z.number().int().nonnegative(),
  }),
  agg: z.unknown(),
});
export type RekeyedPartial = z.infer<typeof RekeyedPartial>;

export function rekeyedKey(p: Pick<RekeyedPartial, 'tenant' | 'entityType' | 'entity'>): string {
  return `${p.tenant}|${p.entityType}|${p.entity}`;
}

/** Feedback to the detector (topic `vigil.detector-feedback`): an anomaly judged a false positive. */
export const DetectorFeedback = z.object({
  v: z.literal(1),
  anomalyId: z.string().min(1).max(128),
  tenant: Tenant,
  entityType: EntityType,
  entity: z.string().min(1).max(1024),
  detector: z.string().min(1).max(64),
  windowStart: EpochMs,
  verdict: z.enum(['false_positive']),
  at: EpochMs,
  actor: z.string().max(256),
});
export type DetectorFeedback = z.infer<typeof DetectorFeedback>;
