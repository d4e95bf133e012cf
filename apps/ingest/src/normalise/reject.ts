/** Why a raw record was not accepted. Stable codes: dashboards and the dead-letter topic group by them. */
export const REJECT_REASONS = [
  'oversized',
  'invalid_json',
  'unknown_format',
  'malformed',
  'missing_timestamp',
  'invalid_timestamp',
  'absurd_timestamp',
  'invalid_method',
  'invalid_status',
  'invalid_latency',
  'control_characters',
  'invalid_ip',
  'schema',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reason: RejectReason;
  message: string;
}

export function reject(reason: RejectReason, message: string): Rejection {
  return { reason, message };
}

/** Quote a value for a rejection message: JSON-escaped (control characters visible) and capped at 120 chars. */
export function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const s = typeof v === 'string' ? v : String(v);
  return JSON.stringify(s.length > 120 ? s.slice(0, 117) + '...' : s);
}
