import { z } from 'zod';

/** Scopes an API key can carry. `admin` implies every other scope. */
export const Scope = z.enum(['logs:write', 'incidents:read', 'incidents:write', 'alerts:read', 'webhooks:manage', 'admin']);
export type Scope = z.infer<typeof Scope>;

/** RBAC roles: named bundles of scopes. */
export const ROLE_SCOPES = {
  admin: ['admin'],
  analyst: ['incidents:read', 'incidents:write', 'alerts:read'],
  viewer: ['incidents:read', 'alerts:read'],
  shipper: ['logs:write'],
  integrator: ['webhooks:manage', 'incidents:read'],
} as const satisfies Record<string, readonly Scope[]>;
export type Role = keyof typeof ROLE_SCOPES;
