import { z } from 'zod';

/** Epoch milliseconds (UTC). All times crossing a service boundary use this. */
export const EpochMs = z.number().int().nonnegative();

export const Severity = z.enum(['low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof Severity>;
export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

export const EntityType = z.enum(['ip', 'token', 'endpoint', 'token_ip', 'tenant']);
export type EntityType = z.infer<typeof EntityType>;

export const Tenant = z.string().min(1).max(128);

/** Parse with a schema and return a typed result or a readable reason (never throws). */
export function validate<T>(schema: z.ZodType<T>, input: unknown): { ok: true; value: T } | { ok: false; reason: string } {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const path = issue && issue.path.length ? issue.path.join('.') + ': ' : '';
  return { ok: false, reason: `${path}${issue?.message ?? 'invalid'}` };
}
