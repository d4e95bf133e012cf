import type { EntityType, Severity } from '@vigil/contracts';
import ipaddr from 'ipaddr.js';
import { describeExpectation, type Evaluation, type PopulationBaseline } from '../detection/baseline.js';
import { severityFromScore } from '../detection/calibration.js';
import type { WindowAggregate, WindowEvent } from '../detection/window.js';
import { hasNewLocationIn, learnLocations, type EntityState } from '../engine/entity-state.js';
import { METRICS, type MetricName } from '../engine/metrics-catalog.js';
import type { DetectorsConfig } from './detector-config.js';
import { fmtBytes, fmtCount, fmtDuration, fmtPercent, maskToken, subject, tokenIpEntity } from './explain.js';
import { detectInjection, INJECTION_LABEL } from './injection.js';

/** What a detector found in one window of one entity; the engine turns it into an Anomaly. */
export interface Finding {
  detector: string;
  metric: string;
  observed: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  severity: Severity;
  explanation: string;
  early: boolean;
  /** Which sample event ids illustrate it best. */
  samples: 'failures' | 'all';
}

export interface WindowCtx {
  tenant: string;
  entityType: EntityType;
  entity: string;
  windowStart: number;
  windowMs: number;
  agg: WindowAggregate;
  state: EntityState;
  population(metric: MetricName): PopulationBaseline | undefined;
}

interface BaselineSettings {
  enabled: boolean;
  minScore: number;
  early: boolean;
  minHistory: number;
}

/** A detector that compares one window metric with the entity's learned baseline, behind absolute gates. */
export interface BaselineDetector {
  name: string;
  metric: MetricName;
  entityTypes(cfg: DetectorsConfig): readonly EntityType[];
  settings(cfg: DetectorsConfig): BaselineSettings;
  /** Absolute conditions (minimum counts, ratios) that must hold whatever the baseline says. */
  gate(ctx: WindowCtx, cfg: DetectorsConfig): boolean;
  /** The least value of the metric for which the gate can hold (early firing skips every event below it with one compare). */
  minObserved?(cfg: DetectorsConfig): number;
  describe(ctx: WindowCtx, observed: number, ev: Evaluation): string;
  /** A last check once the value is above the bound (e.g. enough requests behind a quantile). */
  confirm?(ctx: WindowCtx, ev: Evaluation, cfg: DetectorsConfig): boolean;
  samples: 'failures' | 'all';
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);
const win = (ctx: WindowCtx): string => fmtDuration(ctx.windowMs);

export function matchesRoute(patterns: readonly string[], route: string): boolean {
  const r = route.includes(' ') ? route.slice(route.indexOf(' ') + 1) : route;
  return patterns.some((p) => (p.endsWith('*') ? r.startsWith(p.slice(0, -1)) : r === p));
}

export const BASELINE_DETECTORS: readonly BaselineDetector[] = [
  {
    name: 'rate-spike',
    minObserved: (c) => c.rateSpike.minRequests,
    metric: 'requests',
    entityTypes: (c) => c.rateSpike.entityTypes,
    settings: (c) => c.rateSpike,
    gate: (x, c) => x.agg.requests >= c.rateSpike.minRequests,
    describe: (x, o, ev) => `${subject(x.entityType, x.entity)} made ${fmtCount(o)} requests in ${win(x)}; ${describeExpectation(ev)}`,
    samples: 'all',
  },
  {
    name: 'brute-force',
    minObserved: (c) => c.bruteForce.minFailures,
    metric: 'auth_failures',
    entityTypes: () => ['ip'],
    settings: (c) => c.bruteForce,
    gate: (x, c) => x.agg.authFailures >= c.bruteForce.minFailures && ratio(x.agg.authFailures, x.agg.requests) >= c.bruteForce.minRatio,
    describe: (x, o, ev) => {
      const target = x.agg.top('routes', 1)[0];
      return (
        `${subject(x.entityType, x.entity)} got ${fmtCount(o)} 401/403 responses out of ${fmtCount(x.agg.requests)} requests ` +
        `(${fmtPercent(ratio(o, x.agg.requests))}) in ${win(x)}${target ? `, mostly on ${target.value}` : ''}; ${describeExpectation(ev)}` +
        `; likely password guessing: block or rate-limit the IP`
      );
    },
    samples: 'failures',
  },
  {
    name: 'credential-stuffing',
    minObserved: (c) => c.credentialStuffing.minFailures,
    metric: 'auth_failures',
    entityTypes: () => ['endpoint'],
    settings: (c) => c.credentialStuffing,
    gate: (x, c) => {
      const s = c.credentialStuffing;
      const ips = x.agg.distinctCount('failIps');
      return (
        matchesRoute(s.authRoutes, x.entity) &&
        x.agg.authFailures >= s.minFailures &&
        ips >= s.minDistinctIps &&
        ratio(x.agg.authFailures, ips) <= s.maxFailuresPerIp
      );
    },
    describe: (x, o, ev) => {
      const ips = x.agg.distinctCount('failIps');
      return (
        `${subject(x.entityType, x.entity)} returned ${fmtCount(o)} 401/403 in ${win(x)} to ${fmtCount(ips)} different IPs ` +
        `(${(o / Math.max(1, ips)).toFixed(1)} failures per IP); ${describeExpectation(ev)}; many IPs each failing a little looks like distributed credential stuffing`
      );
    },
    samples: 'failures',
  },
  {
    name: 'enumeration',
    minObserved: (c) => c.enumeration.minDistinctPaths,
    metric: 'distinct_paths',
    entityTypes: () => ['ip'],
    settings: (c) => c.enumeration,
    gate: (x, c) => x.agg.distinctCount('paths') >= c.enumeration.minDistinctPaths && ratio(x.agg.notFound, x.agg.requests) >= c.enumeration.minNotFoundRatio,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} requested ${fmtCount(o)} distinct paths in ${win(x)}, ${fmtPercent(ratio(x.agg.notFound, x.agg.requests))} of them 404; ` +
      `${describeExpectation(ev)}; looks like enumeration or scanning`,
    samples: 'failures',
  },
  {
    name: 'token-sharing',
    minObserved: (c) => c.tokenSharing.minDistinctIps,
    metric: 'distinct_ips',
    entityTypes: () => ['token'],
    settings: (c) => c.tokenSharing,
    gate: (x, c) => x.agg.distinctCount('ips') >= c.tokenSharing.minDistinctIps,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} was used from ${fmtCount(o)} different IPs in ${win(x)}; ${describeExpectation(ev)}; the token may be shared or stolen`,
    samples: 'all',
  },
  {
    name: 'volumetric-flood',
    minObserved: (c) => c.volumetricFlood.minRequests,
    metric: 'requests',
    entityTypes: () => ['endpoint'],
    settings: (c) => c.volumetricFlood,
    gate: (x, c) => x.agg.requests >= c.volumetricFlood.minRequests,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} received ${fmtCount(o)} requests in ${win(x)} from ${fmtCount(x.agg.distinctCount('ips'))} IPs; ${describeExpectation(ev)}`,
    samples: 'all',
  },
  {
    name: 'exfiltration',
    metric: 'bytes_out',
    entityTypes: () => ['token'],
    settings: (c) => c.exfiltration,
    gate: (x, c) => x.agg.bytesOut >= c.exfiltration.minBytes,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} downloaded ${fmtBytes(o)} in ${win(x)} over ${fmtCount(x.agg.requests)} requests; ` +
      `expected ${fmtBytes(ev.expected)} (upper bound ${fmtBytes(ev.upper)}) ${ev.slot === 'any time' ? 'at any time' : `for ${ev.slot}`}; possible data exfiltration`,
    samples: 'all',
  },
  {
    name: 'error-rate',
    minObserved: (c) => c.errorRate.minErrors,
    metric: 'errors_5xx',
    entityTypes: () => ['endpoint'],
    settings: (c) => c.errorRate,
    gate: (x, c) => x.agg.errors5xx >= c.errorRate.minErrors && ratio(x.agg.errors5xx, x.agg.requests) >= c.errorRate.minRatio,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} returned ${fmtCount(o)} 5xx of ${fmtCount(x.agg.requests)} requests (${fmtPercent(ratio(o, x.agg.requests))}) in ${win(x)}; ${describeExpectation(ev)}`,
    samples: 'failures',
  },
  {
    name: 'latency',
    metric: 'latency_p95',
    entityTypes: () => ['endpoint'],
    settings: (c) => c.latency,
    gate: (x, c) => x.agg.requests >= c.latency.minRequests && x.agg.latencyP95() >= c.latency.minP95Ms,
    // the k-th slowest request (k = minSlowRequests) is above the bound too, so a couple of gateway timeouts alone do not fire
    confirm: (x, ev, c) => x.agg.latency.quantile(1 - c.latency.minSlowRequests / x.agg.requests) > ev.upper,
    describe: (x, o, ev) =>
      `${subject(x.entityType, x.entity)} p95 latency was ${fmtCount(o)} ms over ${fmtCount(x.agg.requests)} requests in ${win(x)}; ` +
      `expected ${fmtCount(ev.expected)} ms (upper bound ${fmtCount(ev.upper)} ms) ${ev.slot === 'any time' ? 'at any time' : `for ${ev.slot}`}`,
    samples: 'all',
  },
];

/** Closed windows of the entity's own history for a metric (a lazy metric without a baseline was zero in all of them). */
function ownWindows(ctx: WindowCtx, d: BaselineDetector): number {
  return ctx.state.peek(d.metric)?.windows ?? (METRICS[d.metric].lazy ? ctx.state.activeWindows : 0);
}

/** Detectors whose own-history requirement holds (no cold-start floods). */
function hasHistory(ctx: WindowCtx, d: BaselineDetector, s: BaselineSettings): boolean {
  if (s.minHistory === 0) return true;
  const pop = ctx.population(d.metric)?.count ?? 0;
  return ownWindows(ctx, d) >= s.minHistory || pop >= s.minHistory * 10;
}

/**
 * The peer group (population) stands in for the history an entity does not have yet: it is blended in while the
 * entity has fewer than `minHistory` windows of its own, and left out afterwards. Blending it in for good would mix
 * every entity's distribution with the whole population's (service IPs making hundreds of requests a minute next to
 * people making two), whose tail is so heavy that even a hundredfold jump of an established entity scores low.
 * With `minHistory: 0` the absolute gates carry the decision and the entity is compared with its own past only.
 */
function peerPrior(ctx: WindowCtx, d: BaselineDetector, s: BaselineSettings): PopulationBaseline | undefined {
  return ownWindows(ctx, d) < s.minHistory ? ctx.population(d.metric) : undefined;
}

function finding(d: BaselineDetector, ctx: WindowCtx, observed: number, ev: Evaluation, early: boolean): Finding {
  return {
    detector: d.name,
    metric: d.metric,
    observed,
    expected: ev.expected,
    lower: ev.lower,
    upper: ev.upper,
    score: ev.score,
    severity: ev.severity,
    explanation: d.describe(ctx, observed, ev),
    early,
    samples: d.samples,
  };
}

/** Baseline detectors applicable to an entity type under a config. */
export function baselineDetectorsFor(type: EntityType, cfg: DetectorsConfig): readonly BaselineDetector[] {
  let byType = applicable.get(cfg);
  if (!byType) applicable.set(cfg, (byType = new Map()));
  let list = byType.get(type);
  if (!list) byType.set(type, (list = BASELINE_DETECTORS.filter((d) => d.settings(cfg).enabled && d.entityTypes(cfg).includes(type))));
  return list;
}

/** Per config object (configs are not mutated once loaded), the applicable detectors per entity type. */
const applicable = new WeakMap<DetectorsConfig, Map<EntityType, readonly BaselineDetector[]>>();

/** Score a closed window. Does not update the baselines (the engine does, after every detector has looked). */
export function evaluateClosedWindow(ctx: WindowCtx, cfg: DetectorsConfig, fired: ReadonlySet<string> | null): Finding[] {
  const alreadyFired = fired ?? NOTHING_FIRED;
  let out: Finding[] | null = null;
  for (const d of baselineDetectorsFor(ctx.entityType, cfg)) {
    if (alreadyFired.has(d.name)) continue;
    const s = d.settings(cfg);
    if (!d.gate(ctx, cfg) || !hasHistory(ctx, d, s)) continue;
    const observed = METRICS[d.metric].value(ctx.agg);
    // judge(): the Evaluation only when observed > upper and score >= minScore (what evaluate() was checked for here),
    // without computing it for the common window that is not unusual
    const ev = ctx.state.baseline(d.metric).judge(observed, ctx.windowStart, peerPrior(ctx, d, s), s.minScore);
    if (ev && (!d.confirm || d.confirm(ctx, ev, cfg))) (out ??= []).push(finding(d, ctx, observed, ev, false));
  }
  if (ctx.entityType === 'ip' && !alreadyFired.has('scraping')) {
    const f = scraping(ctx, cfg);
    if (f) (out ??= []).push(f);
  }
  if (ctx.entityType === 'token' && ctx.state.known) {
    const f = tokenNewLocation(ctx, cfg);
    if (f && !alreadyFired.has(f.detector)) (out ??= []).push(f);
  }
  return out ?? NO_FINDINGS;
}

/** Per applicable baseline detector (same order as baselineDetectorsFor): its metric's value and the least value early firing looks at (+Infinity: never early). */
export interface EarlyStep {
  value(agg: WindowAggregate): number;
  min: number;
}

/** The early-firing plan of an entity type under a config, aligned with baselineDetectorsFor(type, cfg). */
export function earlyPlanFor(type: EntityType, cfg: DetectorsConfig): readonly EarlyStep[] {
  let byType = plans.get(cfg);
  if (!byType) plans.set(cfg, (byType = new Map()));
  let plan = byType.get(type);
  if (!plan) {
    plan = baselineDetectorsFor(type, cfg).map((d) => ({
      value: METRICS[d.metric].value,
      min: d.settings(cfg).early && METRICS[d.metric].options.kind === 'count' ? (d.minObserved?.(cfg) ?? -Infinity) : Infinity,
    }));
    byType.set(type, plan);
  }
  return plan;
}

const plans = new WeakMap<DetectorsConfig, Map<EntityType, readonly EarlyStep[]>>();

/** Whether any detector of the plan would look at the partial window now (else evaluatePartialWindow finds nothing). */
export function earlyDue(plan: readonly EarlyStep[], agg: WindowAggregate, skipUpTo: readonly number[]): boolean {
  for (let i = 0; i < plan.length; i++) {
    const p = plan[i]!;
    if (p.min === Infinity) continue;
    const v = p.value(agg);
    if (v >= p.min && v > (skipUpTo[i] as number)) return true;
  }
  return false;
}

/**
 * Early firing on a partial window: a count that already exceeds the full window's upper bound can only grow.
 * `skipUpTo` (one slot per applicable detector, −Infinity at window open) keeps each detector's full-window upper
 * bound so later events compare against a number; +Infinity once the detector fired for the window.
 */
export function evaluatePartialWindow(ctx: WindowCtx, cfg: DetectorsConfig, alreadyFired: ReadonlySet<string> | null, skipUpTo: number[]): Finding[] {
  let out: Finding[] | null = null;
  const list = baselineDetectorsFor(ctx.entityType, cfg);
  const plan = earlyPlanFor(ctx.entityType, cfg);
  for (let i = 0; i < list.length; i++) {
    const d = list[i]!;
    const p = plan[i]!;
    if (p.min === Infinity) continue;
    const observed = p.value(ctx.agg);
    if (observed < p.min || observed <= (skipUpTo[i] as number)) continue;
    if (alreadyFired?.has(d.name)) {
      skipUpTo[i] = Infinity;
      continue;
    }
    const s = d.settings(cfg);
    if (!d.gate(ctx, cfg) || !hasHistory(ctx, d, s)) continue;
    const elapsed = Math.min(1, Math.max(1e-3, (ctx.agg.lastTs - ctx.windowStart + 1) / ctx.windowMs));
    const decision = ctx.state.baseline(d.metric).evaluatePartial(observed, elapsed, ctx.windowStart, peerPrior(ctx, d, s));
    skipUpTo[i] = decision.evaluation.upper;
    if (decision.fire && decision.evaluation.score >= s.minScore && (!d.confirm || d.confirm(ctx, decision.evaluation, cfg))) {
      (out ??= []).push(finding(d, ctx, observed, decision.evaluation, true));
      skipUpTo[i] = Infinity; // fired: the engine records it in the window's fired set
    }
  }
  return out ?? NO_FINDINGS;
}

const NO_FINDINGS: Finding[] = [];
const NO_IPS: readonly string[] = [];
const NOTHING_FIRED: ReadonlySet<string> = new Set();

function ruleFinding(detector: string, metric: string, observed: number, score: number, explanation: string, early: boolean, samples: Finding['samples']): Finding {
  return { detector, metric, observed, expected: 0, lower: 0, upper: 0, score, severity: severityFromScore(score), explanation, early, samples };
}

/** A steady high rate over many resource ids of one route template, mostly successful. */
export function scraping(ctx: WindowCtx, cfg: DetectorsConfig): Finding | null {
  const s = cfg.scraping;
  const a = ctx.agg;
  if (!s.enabled || a.requests < s.minRequests) return null;
  const paths = a.distinctCount('paths');
  const route = a.top('routes', 1)[0];
  if (!route || paths < s.minDistinctPaths) return null;
  const share = route.count / a.requests;
  if (share < s.minRouteShare || a.activeFraction() < s.minActiveFraction || ratio(a.notFound, a.requests) > s.maxNotFoundRatio) return null;
  return ruleFinding(
    'scraping',
    'distinct_paths',
    paths,
    s.score,
    `${subject(ctx.entityType, ctx.entity)} fetched ${fmtCount(paths)} different resources of ${route.value} (${fmtPercent(share)} of its ${fmtCount(a.requests)} requests) ` +
      `at a steady rate through ${fmtPercent(a.activeFraction())} of the ${win(ctx)} window; looks like scraping`,
    false,
    'all',
  );
}

/** A token seen from a new country or ASN (or, for tokens that used few IPs, a new IP). Learns the locations. */
export function tokenNewLocation(ctx: WindowCtx, cfg: DetectorsConfig): Finding | null {
  const k = ctx.state.known;
  if (!k) return null;
  const s = cfg.tokenNewLocation;
  const established = ctx.state.activeWindows >= s.minHistoryWindows;
  if (!hasNewLocationIn(k, ctx.agg)) return null; // nothing to learn, nothing new to report
  const ips = ctx.agg.distinctSet('ips')?.values() ?? NO_IPS;
  const asns = ctx.agg.asns;
  const countries = ctx.agg.countries;
  const before = { ips: k.ipHashes.length, asns: [...k.asns], countries: [...k.countries], roaming: k.roaming };
  const fresh = learnLocations(k, ips, asns, countries);
  if (!s.enabled || !established) return null;
  const reasons: string[] = [];
  if (s.newCountry && fresh.countries.length && before.countries.length) {
    reasons.push(`new country ${fresh.countries.join(', ')} (seen before only from ${before.countries.join(', ')})`);
  }
  if (s.newAsn && fresh.asns.length && before.asns.length) reasons.push(`new network AS${fresh.asns.join(', AS')}`);
  if (s.newIp && fresh.ips.length && !before.roaming && before.ips > 0 && before.ips <= s.maxKnownIps) {
    reasons.push(`new IP ${fresh.ips.slice(0, 3).join(', ')} (it had used ${before.ips} IP${before.ips === 1 ? '' : 's'})`);
  }
  if (reasons.length === 0) return null;
  return ruleFinding(
    'token-new-location',
    'locations',
    fresh.countries.length + fresh.asns.length + (s.newIp ? fresh.ips.length : 0),
    s.score,
    `${subject(ctx.entityType, ctx.entity)} was used from a ${reasons.join(' and a ')} after ${fmtCount(ctx.state.activeWindows)} active windows; confirm with its owner or revoke it`,
    false,
    'all',
  );
}

// ---- per-event rules (stage 1, on the IP's instance) ---------------------------------------------

export interface EventHit {
  detector: string;
  metric: string;
  entityType: EntityType;
  entity: string;
  score: number;
  /** Explanation given the number of matching events in the window so far. */
  explain(count: number, windowMs: number): string;
}

export interface CompiledEventRules {
  /** The event's hits (a shared empty array when none). */
  check(e: WindowEvent & { tenant: string; apiVersion: string; tls: string; query: string }): readonly EventHit[];
}

const NO_HITS: readonly EventHit[] = Object.freeze([]);

/** A small memo of a pure function of a string (gateways send a handful of distinct TLS and version strings). */
function memo<T>(fn: (s: string) => T, max = 256): (s: string) => T {
  const m = new Map<string, T>();
  return (s) => {
    const hit = m.get(s);
    if (hit !== undefined || m.has(s)) return hit as T;
    const v = fn(s);
    if (m.size >= max) m.clear();
    m.set(s, v);
    return v;
  };
}

/** Whom a per-event rule blames: the token on that IP, or the IP. */
function whoOf(e: Pick<WindowEvent, 'tokenId' | 'clientIp'>): { entityType: EntityType; entity: string; label: string } {
  return e.tokenId
    ? { entityType: 'token_ip', entity: tokenIpEntity(e.tokenId, e.clientIp), label: `token ${maskToken(e.tokenId)} from IP ${e.clientIp}` }
    : { entityType: 'ip', entity: e.clientIp, label: `IP ${e.clientIp}` };
}

function tlsVersion(tls: string): number | null {
  const m = /(\d)(?:[._](\d))?/.exec(tls);
  if (!m) return null;
  if (/^ssl/i.test(tls)) return 0;
  return Number(m[1]) + Number(m[2] ?? 0) / 10;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseAllowlist(entries: readonly string[]): Range[] {
  return entries.map((e) => {
    if (e.includes('/')) return ipaddr.parseCIDR(e);
    const a = ipaddr.parse(e);
    return [a, a.kind() === 'ipv4' ? 32 : 128] as Range;
  });
}

function allowed(ip: string, ranges: readonly Range[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
}

/** Compile the per-event rules once (allowlists parsed, version list as a set). Throws on a malformed CIDR. */
export function compileEventRules(cfg: DetectorsConfig): CompiledEventRules {
  const deprecated = new Set(cfg.deprecatedApi.versions.map((v) => v.toLowerCase()));
  const allowlists = new Map<string, Range[]>(Object.entries(cfg.tokenAllowlist.allowlists).map(([t, list]) => [t, parseAllowlist(list)]));
  const minTls = Number(cfg.insecureTransport.minTlsVersion);
  const isDeprecated = memo((v) => deprecated.has(v.toLowerCase()));
  const tlsOf = memo(tlsVersion);
  return {
    check(e) {
      let hits: EventHit[] | null = null;
      if (cfg.injection.enabled) {
        const m = detectInjection(e.path, e.query, cfg.injection.kinds);
        if (m) {
          (hits ??= []).push({
            detector: 'injection',
            metric: `injection_${m.kind}`,
            entityType: 'ip',
            entity: e.clientIp,
            score: cfg.injection.score,
            explain: (n, w) =>
              `IP ${e.clientIp} sent ${fmtCount(n)} request${n === 1 ? '' : 's'} with ${INJECTION_LABEL[m.kind]} signatures in the ${m.in} within ${fmtDuration(w)}, ` +
              `e.g. ${e.method} ${e.path.slice(0, 120)}; block the IP and check the target for errors`,
          });
        }
      }
      if (cfg.deprecatedApi.enabled && e.apiVersion && isDeprecated(e.apiVersion)) {
        const w = whoOf(e);
        (hits ??= []).push({
          detector: 'deprecated-api',
          metric: 'deprecated_version',
          ...w,
          score: cfg.deprecatedApi.score,
          explain: (n, win) => `${w.label} called deprecated API version ${e.apiVersion} ${fmtCount(n)} time${n === 1 ? '' : 's'} in ${fmtDuration(win)} (e.g. ${e.method} ${e.route || e.path}); ask its owner to migrate`,
        });
      }
      if (cfg.insecureTransport.enabled) {
        const v = e.tls ? tlsOf(e.tls) : null;
        const plain = !e.tls && !cfg.insecureTransport.allowPlainHttp && !cfg.insecureTransport.ignoreUnknown;
        const weak = v !== null && v < minTls;
        if (plain || weak) {
          const w = whoOf(e);
          (hits ??= []).push({
            detector: 'insecure-transport',
            metric: plain ? 'plain_http' : 'weak_tls',
            ...w,
            score: cfg.insecureTransport.score,
            explain: (n, win) =>
              `${w.label} made ${fmtCount(n)} request${n === 1 ? '' : 's'} ${plain ? 'over plain HTTP' : `over ${e.tls}, below TLS ${cfg.insecureTransport.minTlsVersion}`} in ${fmtDuration(win)}; credentials may be exposed in transit`,
          });
        }
      }
      if (cfg.tokenAllowlist.enabled && e.tokenId) {
        const ranges = allowlists.get(e.tokenId);
        if (ranges && !allowed(e.clientIp, ranges)) {
          (hits ??= []).push({
            detector: 'token-allowlist',
            metric: 'outside_allowlist',
            entityType: 'token_ip',
            entity: tokenIpEntity(e.tokenId, e.clientIp),
            score: cfg.tokenAllowlist.score,
            explain: (n, w) =>
              `token ${maskToken(e.tokenId)} was used ${fmtCount(n)} time${n === 1 ? '' : 's'} in ${fmtDuration(w)} from IP ${e.clientIp}, outside its allowlist (${cfg.tokenAllowlist.allowlists[e.tokenId]?.join(', ') ?? ''}); the token may be stolen`,
          });
        }
      }
      return hits ?? NO_HITS;
    },
  };
}
