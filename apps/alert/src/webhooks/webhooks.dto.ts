import { z } from 'zod';
import { Severity, WebhookEventType } from '@vigil/contracts';
import { secretKey } from './signing.js';

const Secret = z.string().refine(
  (s) => {
    try {
      return s.startsWith('whsec_') && secretKey(s).length >= 16;
    } catch {
      return false;
    }
  },
  { message: 'must be whsec_<base64 of at least 16 bytes>' },
);

const Url = z.url({ protocol: /^https?$/ }).max(2048);

export const CreateWebhookBody = z.strictObject({
  url: Url,
  /** Generated (`whsec_<base64>`) when absent; shown once either way. */
  secret: Secret.optional(),
  /** Event types to deliver; empty or absent = all. */
  events: z.array(WebhookEventType).max(8).default([]),
  minSeverity: Severity.default('low'),
  /** Tenant whose incidents to deliver; default the caller's (another tenant needs scope admin). */
  tenant: z.string().min(1).max(128).optional(),
  enabled: z.boolean().default(true),
});
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const UpdateWebhookBody = z
  .strictObject({
    url: Url.optional(),
    secret: Secret.optional(),
    events: z.array(WebhookEventType).max(8).optional(),
    minSeverity: Severity.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateWebhookBody = z.infer<typeof UpdateWebhookBody>;

export const DeliveriesQuery = z.object({
  status: z.enum(['succeeded', 'failed', 'dead']).optional(),
  eventId: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;

/** A subscription as the API shows it: the secret only in the answer that sets it. */
export interface WebhookView {
  id: string;
  tenant: string;
  url: string;
  events: string[];
  minSeverity: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}
