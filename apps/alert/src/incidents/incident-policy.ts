import { DEFAULT_INCIDENT_POLICY, type IncidentPolicy } from './incident-grouper.js';

/** DI token of the grouping / lifecycle policy (tests provide their own windows). */
export const INCIDENT_POLICY = Symbol('INCIDENT_POLICY');
export const incidentPolicyProvider = { provide: INCIDENT_POLICY, useValue: DEFAULT_INCIDENT_POLICY satisfies IncidentPolicy };

/** How often the auto-resolve sweep runs (wall clock); what it resolves is decided from lastSeen. */
export const SWEEP_EVERY_MS = 30_000;
