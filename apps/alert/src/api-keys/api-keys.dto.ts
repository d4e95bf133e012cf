import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { ROLE_SCOPES, Scope } from '@vigil/contracts';

export const Role = z.enum(Object.keys(ROLE_SCOPES) as [keyof typeof ROLE_SCOPES, ...(keyof typeof ROLE_SCOPES)[]]);

const IpOrCidr = z.string().refine(
  (s) => {
    try {
      if (s.includes('/')) ipaddr.parseCIDR(s);
      else ipaddr.parse(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IP address or CIDR' },
);

export const CreateApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  role: Role,
  /** Explicit scopes; default: the role's. */
  scopes: z.array(Scope).min(1).max(16).optional(),
  allowedIps: z.array(IpOrCidr).max(64).default([]),
  /** Lifetime in seconds from now; absent = no expiry. */
  expiresInSeconds: z.number().int().positive().max(10 * 365 * 86_400).optional(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const RotateApiKeyBody = z.strictObject({
  /** How long the old key keeps working (seconds, 0 = stops now). */
  overlapSeconds: z.number().int().min(0).max(30 * 86_400).default(86_400),
});
export type RotateApiKeyBody = z.infer<typeof RotateApiKeyBody>;

/** An API key as the API shows it: never its hash; the token only in the answer that creates it. */
export interface ApiKeyView {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  role: string;
  scopes: string[];
  allowedIps: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** Shown once. */
  token: string;
}
