import { z } from 'zod';
import { EntityType, EpochMs, Severity, Tenant } from './common.js';

export const IncidentStatus = z.enum(['open', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const IncidentHistoryEntry = z.object({
  at: EpochMs,
  actor: z.string(),
  action: z.enum(['opened', 'updated', 'escalated', 'acknowledged', 'resolved', 'auto_resolved', 'false_positive', 'reopened']),
  reason: z.string(),
});

export const RelatedEntity = z.object({ type: EntityType, value: z.string() });

export const Incident = z.object({
  v: z.literal(1),
  /** Deterministic from tenant + primary entity + group window, so replays and twin instances agree. */
  id: z.string().min(1).max(128),
  tenant: Tenant,
  status: IncidentStatus,
  severity: Severity,
  title: z.string().max(512),
  entityType: EntityType,
  entity: z.string(),
  related: z.array(RelatedEntity),
  detectors: z.array(z.string()),
  anomalyIds: z.array(z.string()),
  anomalyCount: z.number().int().nonnegative(),
  maxScore: z.number().min(0).max(1),
  explanation: z.string().max(4096),
  firstSeen: EpochMs,
  lastSeen: EpochMs,
  createdAt: EpochMs,
  updatedAt: EpochMs,
  resolvedAt: EpochMs.nullable(),
  history: z.array(IncidentHistoryEntry),
  /** Monotonic revision; stores keep the highest. */
  revision: z.number().int().nonnegative(),
});
export type Incident = z.infer<typeof Incident>;
