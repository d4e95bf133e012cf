import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The detector configuration file (`config/detectors.yaml` by default, path from VIGIL_DETECTOR_CONFIG): every
 * detector can be disabled and tuned. Validated with zod at boot; an invalid file fails the boot with the path of
 * the offending key.
 */
const score = z.number().min(0).max(1);
const base = { enabled: z.boolean().default(true) };
/** Baseline detectors: fire when observed > upper bound, the calibrated score ≥ minScore and the gates pass. */
const baseline = {
  ...base,
  minScore: score.default(0.5),
  /** Fire from a partial window as soon as the count exceeds the full window's upper bound. */
  early: z.boolean().default(true),
  /** Own closed windows (or population windows) needed before the detector may fire (no cold-start floods). */
  minHistory: z.number().int().min(0).default(0),
};

export const DetectorsConfig = z
  .object({
    rateSpike: z
      .object({ ...baseline, minHistory: baseline.minHistory.default(5), entityTypes: z.array(z.enum(['ip', 'token', 'token_ip', 'tenant'])).default(['ip', 'token', 'token_ip', 'tenant']), minRequests: z.number().int().min(1).default(50) })
      .prefault({}),
    bruteForce: z.object({ ...baseline, minFailures: z.number().int().min(1).default(10), minRatio: score.default(0.5) }).prefault({}),
    credentialStuffing: z
      .object({
        ...baseline,
        /** Route templates (or paths) of authentication endpoints; a trailing * matches a prefix. */
        authRoutes: z.array(z.string().min(1)).default(['/login', '/v1/login', '/oauth/token', '/auth/*', '/v1/auth/*', '/session*', '/signin']),
        minFailures: z.number().int().min(1).default(30),
        minDistinctIps: z.number().int().min(2).default(10),
        /** "Each failing a little": average failures per failing IP at most this. */
        maxFailuresPerIp: z.number().min(1).default(5),
      })
      .prefault({}),
    enumeration: z.object({ ...baseline, minDistinctPaths: z.number().int().min(1).default(30), minNotFoundRatio: score.default(0.5) }).prefault({}),
    tokenNewLocation: z
      .object({
        ...base,
        score: score.default(0.55),
        minHistoryWindows: z.number().int().min(0).default(10),
        newCountry: z.boolean().default(true),
        newAsn: z.boolean().default(true),
        /** A new IP alone fires only for tokens that so far used at most `maxKnownIps` IPs. */
        newIp: z.boolean().default(false),
        maxKnownIps: z.number().int().min(1).max(16).default(4),
      })
      .prefault({}),
    tokenSharing: z.object({ ...baseline, minHistory: baseline.minHistory.default(5), minDistinctIps: z.number().int().min(2).default(5) }).prefault({}),
    tokenAllowlist: z
      .object({ ...base, score: score.default(0.75), allowlists: z.record(z.string(), z.array(z.string().min(1))).default({}) })
      .prefault({}),
    scraping: z
      .object({
        ...base,
        score: score.default(0.6),
        minRequests: z.number().int().min(1).default(120),
        minDistinctPaths: z.number().int().min(1).default(60),
        /** Share of the requests on one route template. */
        minRouteShare: score.default(0.8),
        /** Share of the window's 32 slices with traffic ("steady"). */
        minActiveFraction: score.default(0.75),
        maxNotFoundRatio: score.default(0.2),
      })
      .prefault({}),
    volumetricFlood: z.object({ ...baseline, minHistory: baseline.minHistory.default(5), minRequests: z.number().int().min(1).default(500) }).prefault({}),
    exfiltration: z.object({ ...baseline, early: z.boolean().default(false), minHistory: baseline.minHistory.default(5), minBytes: z.number().int().min(0).default(10 * 1024 * 1024) }).prefault({}),
    errorRate: z.object({ ...baseline, minHistory: baseline.minHistory.default(5), minErrors: z.number().int().min(1).default(10), minRatio: score.default(0.1) }).prefault({}),
    latency: z
      .object({
        ...baseline,
        early: z.boolean().default(false),
        minHistory: baseline.minHistory.default(5),
        minRequests: z.number().int().min(1).default(20),
        minP95Ms: z.number().min(0).default(100),
        /** Requests slower than the learned upper bound needed to fire: a p95 over a few dozen requests can rest on one or two outliers. */
        minSlowRequests: z.number().int().min(1).default(5),
      })
      .prefault({}),
    deprecatedApi: z.object({ ...base, score: score.default(0.3), versions: z.array(z.string().min(1)).default([]) }).prefault({}),
    insecureTransport: z
      .object({ ...base, score: score.default(0.45), allowPlainHttp: z.boolean().default(false), minTlsVersion: z.enum(['1.0', '1.1', '1.2', '1.3']).default('1.2'), ignoreUnknown: z.boolean().default(true) })
      .prefault({}),
    injection: z
      .object({ ...base, score: score.default(0.85), kinds: z.array(z.enum(['sqli', 'xss', 'traversal', 'cmd'])).default(['sqli', 'xss', 'traversal', 'cmd']) })
      .prefault({}),
  })
  .strict();
export type DetectorsConfig = z.infer<typeof DetectorsConfig>;

export class DetectorConfigError extends Error {
  constructor(path: string, reason: string) {
    super(`Invalid detector config ${path}: ${reason}`);
    this.name = 'DetectorConfigError';
  }
}

/** Parse a YAML or JSON document (YAML is a superset of JSON) into a validated config. */
export function parseDetectorsConfig(text: string, path = '(inline)'): DetectorsConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new DetectorConfigError(path, err instanceof Error ? err.message : String(err));
  }
  const root = typeof doc === 'object' && doc !== null && 'detectors' in doc ? (doc as { detectors: unknown }).detectors : doc;
  const r = DetectorsConfig.safeParse(root ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DetectorConfigError(path, `${i && i.path.length ? `detectors.${i.path.join('.')}: ` : ''}${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function loadDetectorsConfig(path: string): DetectorsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DetectorConfigError(path, `cannot read (${err instanceof Error ? err.message : String(err)}); set VIGIL_DETECTOR_CONFIG`);
  }
  return parseDetectorsConfig(text, path);
}

export const DEFAULT_DETECTORS_CONFIG: DetectorsConfig = DetectorsConfig.parse({});
