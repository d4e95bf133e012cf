import { z } from 'zod';
import { EpochMs, Tenant } from './common.js';

export const LogFormat = z.enum(['kong', 'apisix', 'envoy', 'nginx', 'traefik', 'aws', 'tyk', 'vigil']);
export type LogFormat = z.infer<typeof LogFormat>;

/**
 * The normalised access event: one request seen by a gateway.
 * Produced by ingest, stored in `access_events`, published on `vigil.access-events`.
 */
export const AccessEvent = z.object({
  v: z.literal(1),
  /** Deterministic: from the gateway request id, or a content hash. Redelivery is idempotent by this id. */
  id: z.string().min(1).max(128),
  tenant: Tenant,
  /** Event time (when the gateway saw the request), epoch ms. */
  ts: EpochMs,
  format: LogFormat,
  clientIp: z.string().min(1).max(64),
  method: z.string().min(1).max(16),
  /** Path without the query string. */
  path: z.string().max(8192),
  /** Raw query string without the leading '?', or '' when absent. */
  query: z.string().max(8192),
  /** Route template (`/v1/orders/:id`) or the gateway's route name. */
  route: z.string().max(1024),
  status: z.number().int().min(100).max(599),
  latencyMs: z.number().min(0).max(3_600_000),
  bytesIn: z.number().int().min(0),
  bytesOut: z.number().int().min(0),
  userAgent: z.string().max(2048),
  /** e.g. 'v1', '2024-01-01'; '' when unknown. */
  apiVersion: z.string().max(64),
  /** e.g. 'TLSv1.3'; '' for plain HTTP or unknown. */
  tls: z.string().max(32),
  /** Consumer id, API key id, or keyed hash of a raw key; '' when anonymous. Never a raw secret. */
  tokenId: z.string().max(256),
  /** ISO 3166 alpha-2, '' when unknown. */
  country: z.string().max(8),
  /** Autonomous system number, 0 when unknown. */
  asn: z.number().int().min(0),
  requestId: z.string().max(256),
  host: z.string().max(512),
});
export type AccessEvent = z.infer<typeof AccessEvent>;

/** Kafka key for access events: state for one client IP lives on one partition. */
export function accessEventKey(e: Pick<AccessEvent, 'tenant' | 'clientIp'>): string {
  return `${e.tenant}|${e.clientIp}`;
}

/** A raw record that ingest could not accept, kept with its reason so nothing is lost silently. */
export const DeadLetter = z.object({
  v: z.literal(1),
  id: z.string().min(1),
  tenant: Tenant,
  receivedAt: EpochMs,
  /** Where it came from: 'kafka:<topic>/<partition>@<offset>' or 'http:<request id>#<index>'. */
  source: z.string(),
  reason: z.string(),
  /** The original record, verbatim (truncated to 1 MiB). */
  raw: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
