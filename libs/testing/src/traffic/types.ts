import type { AccessEvent, EntityType } from '@vigil/contracts';

/** Output formats: the shapes the ingest parsers read (see apps/ingest/src/parsers/formats). */
export const TRAFFIC_FORMATS = ['nginx', 'kong', 'envoy', 'vigil'] as const;
export type TrafficFormat = (typeof TRAFFIC_FORMATS)[number];

/** Every attack class the generator can inject. */
export const ATTACK_CLASSES = [
  'rate_spike',
  'brute_force',
  'credential_stuffing',
  'enumeration',
  'token_theft',
  'token_sharing',
  'allowlist_violation',
  'scraping',
  'volumetric_flood',
  'exfiltration',
  'error_rate',
  'latency_degradation',
  'deprecated_version',
  'insecure_transport',
  'injection',
] as const;
export type AttackClass = (typeof ATTACK_CLASSES)[number];

/**
 * The detector expected to flag each class: the detector service's own ids (`Anomaly.detector`), so an evaluation
 * matches anomalies to labels by equality.
 */
export const EXPECTED_DETECTOR: Readonly<Record<AttackClass, string>> = {
  rate_spike: 'rate-spike',
  brute_force: 'brute-force',
  credential_stuffing: 'credential-stuffing',
  enumeration: 'enumeration',
  token_theft: 'token-new-location',
  token_sharing: 'token-sharing',
  allowlist_violation: 'token-allowlist',
  scraping: 'scraping',
  volumetric_flood: 'volumetric-flood',
  exfiltration: 'exfiltration',
  error_rate: 'error-rate',
  latency_degradation: 'latency',
  deprecated_version: 'deprecated-api',
  insecure_transport: 'insecure-transport',
  injection: 'injection',
};

/**
 * One labelled attack: an interval of event time, the entity that should be flagged and by which detector.
 * `entity` uses the detector's spelling: an IP, a token id, `METHOD route` for endpoints.
 */
export interface AttackLabel {
  id: string;
  class: AttackClass;
  entityType: EntityType;
  entity: string;
  /** Event time, epoch ms; the attack's requests have start <= ts < end. */
  start: number;
  end: number;
  expectedDetector: string;
  /** What happens, for a person reading the labels file. */
  description: string;
  /** Class-specific facts (source IPs, route, rates) for assertions and evaluation. */
  details: Record<string, string | number | boolean | string[]>;
}

/** One generated request: the raw gateway record, the AccessEvent it stands for, and its label when it is attack traffic. */
export interface GeneratedRecord {
  /** The record as the gateway would log it (one line, no trailing newline). */
  raw: string;
  /**
   * The ground truth. Fields the chosen format cannot carry (nginx has no TLS, country, ASN, host, request size or
   * request id) are still set here; ingest will see them empty. `id` is the generator's (`g<seed>-<n>`), not ingest's.
   */
  event: AccessEvent;
  label?: AttackLabel;
}

export interface TrafficOptions {
  /** PRNG seed: same options and seed, same output. Default 42. */
  seed?: number;
  /** Event time of the first request, epoch ms. Default 2024-05-14T08:00:00Z (a Tuesday). */
  start?: number;
  /** Length of simulated time. Default 2 h. */
  durationMs?: number;
  /** Normal (non-attack) requests per second, averaged over a week; the diurnal curve modulates it. Default 200. */
  rps?: number;
  /** 'all' (default), 'none', or the classes to inject. */
  attacks?: 'all' | 'none' | readonly AttackClass[];
  format?: TrafficFormat;
  tenant?: string;
  /** Client IPs in the population. Default 4000. */
  ipCount?: number;
  /** API tokens in the population. Default 300. */
  tokenCount?: number;
  /** Apply the day/night and weekday curve (default true); false gives a flat rate of `rps`. */
  diurnal?: boolean;
  /** Time zone of the API's users for the diurnal curve. Default 0 (UTC). */
  utcOffsetHours?: number;
  /** Attack-free time at the start so baselines can form. Default min(30 min, 25% of the duration). */
  warmupMs?: number;
  /** Host the API is served on. Default api.acme-exchange.example */
  host?: string;
}

export interface ResolvedTrafficOptions {
  seed: number;
  start: number;
  durationMs: number;
  end: number;
  rps: number;
  attacks: readonly AttackClass[];
  format: TrafficFormat;
  tenant: string;
  ipCount: number;
  tokenCount: number;
  diurnal: boolean;
  utcOffsetHours: number;
  warmupMs: number;
  host: string;
}

/** What the labels file holds (JSON). */
export interface LabelsFile {
  generator: 'vigil-traffic';
  version: 1;
  options: ResolvedTrafficOptions;
  labels: AttackLabel[];
  /** Token IP allowlists of the population (configure these for the allowlist detector). */
  allowlists: Record<string, string[]>;
  /** API versions the generated traffic treats as deprecated. */
  deprecatedVersions: string[];
  /** Filled in after generation: requests written in total and per label id. */
  counts?: { total: number; attack: number; byLabel: Record<string, number> };
}
