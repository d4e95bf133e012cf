/**
 * Detector engine throughput on one core, and memory per idle entity.
 *
 *   node --expose-gc --import tsx scripts/bench/detector.ts [--events 2000000] [--ips 50000] [--tokens 20000]
 *                                                           [--batch 2000] [--minutes 30] [--memory 1000000]
 *
 * Events are generated BEFORE timing (seeded, sorted by time: --ips client IPs, --tokens API tokens bound to an IP
 * each, 32 endpoints, 2 % 401s, --minutes of event time). They then go through the engine exactly as the two
 * consumers feed it, minus the bus and JSON (measured elsewhere):
 *
 *   stage 1  processAccessEvents: IP windows (window aggregate update, early evaluation, per-event rules), windows
 *            closing on the watermark (closed-window detectors, baseline updates), re-keyed partials built
 *   stage 2  processPartials on those partials: token / endpoint / token×IP / tenant windows, their closes and
 *            baseline updates
 *
 * Two scenarios with the same events: sparse (--minutes, default 30: most IP windows hold one or two events, so window
 * open/close dominates, the worst case) and dense (--dense-minutes, default 5).
 * Prints events/s (wall clock and per CPU-second) for stage 1 and for both stages (per input event, and µs of CPU per event), p50/p99 of batch time, the collector's pauses during the run, and peak RSS. Then the
 * bytes per idle entity from apps/detector/src/bench/measure-state-memory.ts (one process per case, --memory
 * entities each; 0 skips). Target: ≥ 500k events/s on one core through the window and baseline update path.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { Command } from 'commander';
import type { AccessEvent, RekeyedPartial } from '@vigil/contracts';
import { DEFAULT_DETECTORS_CONFIG } from '../../apps/detector/src/detectors/detector-config.js';
import { DetectionEngine, type OffsetEvent, type OffsetPartial } from '../../apps/detector/src/engine/detection-engine.js';

const opts = new Command('bench-detector')
  .option('--events <n>', 'access events', '2000000')
  .option('--ips <n>', 'client IPs', '50000')
  .option('--tokens <n>', 'API tokens', '20000')
  .option('--batch <n>', 'events per batch (the consumer takes up to 2000)', '2000')
  .option('--minutes <n>', 'event time covered (sparse scenario: most IP windows hold one or two events)', '30')
  .option('--dense-minutes <n>', 'event time covered by the same events in the dense scenario (0: skip)', '5')
  .option('--memory <n>', 'idle entities per memory case (0: skip)', '1000000')
  .parse()
  .opts<{ events: string; ips: string; tokens: string; batch: string; minutes: string; denseMinutes: string; memory: string }>();
const EVENTS = Number(opts.events);
const IPS = Number(opts.ips);
const TOKENS = Number(opts.tokens);
const BATCH = Number(opts.batch);
const DENSE_MINUTES = Number(opts.denseMinutes);
const MEMORY = Number(opts.memory);
const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(minutes: number): AccessEvent[] {
  const random = seeded(7);
  const ips = Array.from({ length: IPS }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const tokens = Array.from({ length: TOKENS }, (_, i) => `tk_${i.toString(36).padStart(6, '0')}`);
  const routes = Array.from({ length: 32 }, (_, i) => `/v1/r${i}/:id`);
  const span = minutes * W;
  const out: AccessEvent[] = new Array(EVENTS);
  for (let i = 0; i < EVENTS; i++) {
    // skewed popularity: a few IPs and routes carry most traffic, as in real gateways
    const ipIdx = Math.floor(IPS * random() ** 2);
    const tokenIdx = ipIdx % Math.max(1, TOKENS);
    const hasToken = ipIdx < TOKENS * 2 && random() < 0.8;
    const r = Math.floor(32 * random() ** 1.5);
    const route = routes[r]!;
    const failed = random() < 0.02;
    out[i] = {
      v: 1, id: `ev${i}`, tenant: 'acme', ts: T0 + Math.floor((i / EVENTS) * span), format: 'kong', clientIp: ips[ipIdx]!,
      method: r % 5 === 0 ? 'POST' : 'GET', path: route.replace(':id', String(Math.floor(random() * 200))), query: '', route,
      status: failed ? 401 : random() < 0.005 ? 503 : 200, latencyMs: 5 + random() * 80, bytesIn: 200, bytesOut: 500 + Math.floor(random() * 5_000),
      userAgent: 'bench/1.0', apiVersion: 'v1', tls: 'TLSv1.3', tokenId: hasToken ? tokens[tokenIdx]! : '', country: 'DE', asn: 3320, requestId: '', host: 'api.acme.example',
    };
  }
  return out;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One scenario: the events through both stages. Reports wall-clock rates and, because the bench machine may be
 * shared, CPU-time rates too (process CPU time: the main thread plus GC helper threads, so never flattering).
 */
function scenario(label: string, minutes: number): void {
  console.log(`${label}: node ${process.version}; generating ${fmt(EVENTS)} events (${fmt(IPS)} IPs, ${fmt(TOKENS)} tokens, ${minutes} min of event time)…`);
  const events = generate(minutes);
  const inputs: OffsetEvent[] = events.map((event, i) => ({ offset: String(i), event }));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();

  const engine = new DetectionEngine({ windowMs: W, latenessMs: 5_000, maxEntities: 5_000_000, idleTtlMs: 7 * 86_400_000, detectors: DEFAULT_DETECTORS_CONFIG });
  const s1 = engine.newPartition('vigil.access-events', 0);
  const s2 = engine.newPartition('vigil.detector.rekeyed', 0);
  const stage1: number[] = [];
  const stage2: number[] = [];
  let partialCount = 0;
  let anomalies = 0;
  let p2off = 0;
  let t1 = 0;
  let t2 = 0;
  let c1 = 0;
  let c2 = 0;
  // the collector's pauses on the main thread during the run (wall time: on a loaded machine they stretch like the rest)
  const gcProfiler = new GCProfiler();
  gcProfiler.start();
  for (let i = 0; i < inputs.length; i += BATCH) {
    const batch = inputs.slice(i, i + BATCH);
    const ca = cpuMs();
    const a = performance.now();
    const r = engine.processAccessEvents(s1, batch);
    const b = performance.now();
    const cb = cpuMs();
    const partials: OffsetPartial[] = r.partials.map((partial: RekeyedPartial) => ({ offset: String(p2off++), partial }));
    const cc = cpuMs();
    const c = performance.now();
    anomalies += r.anomalies.length + engine.processPartials(s2, partials).length;
    const d = performance.now();
    const cd = cpuMs();
    stage1.push(b - a);
    stage2.push(d - c);
    t1 += b - a;
    t2 += d - c;
    c1 += cb - ca;
    c2 += cd - cc;
    partialCount += partials.length;
  }
  let gcMs = 0;
  let gcMajorMs = 0;
  for (const g of gcProfiler.stop()?.statistics ?? []) {
    gcMs += g.cost / 1000;
    if (g.gcType !== 'Scavenge' && g.gcType !== 'MinorMarkCompact') gcMajorMs += g.cost / 1000;
  }
  const rss = process.resourceUsage().maxRSS * 1024;
  console.log(`  stage 1 (IP windows, rules, closes, baseline updates, partials): ${fmt((EVENTS / t1) * 1000)} events/s wall, ${fmt((EVENTS / c1) * 1000)} per CPU-s | batch of ${BATCH}: p50 ${quantile(stage1, 0.5).toFixed(2)} ms, p99 ${quantile(stage1, 0.99).toFixed(2)} ms`);
  console.log(`  stage 2 (${fmt(partialCount)} partials → token/endpoint/token×IP/tenant windows): ${fmt((partialCount / t2) * 1000)} partials/s wall, ${fmt((partialCount / c2) * 1000)} per CPU-s | per stage-1 batch: p50 ${quantile(stage2, 0.5).toFixed(2)} ms, p99 ${quantile(stage2, 0.99).toFixed(2)} ms`);
  console.log(`  both stages, per input event: ${fmt((EVENTS / (t1 + t2)) * 1000)} events/s wall (${((t1 + t2) / 1000).toFixed(2)} s), ${fmt((EVENTS / (c1 + c2)) * 1000)} events per CPU-s (${((c1 + c2) / 1000).toFixed(2)} CPU-s, ${(((c1 + c2) * 1000) / EVENTS).toFixed(1)} µs per event)`);
  console.log(`  GC pauses during the run: ${fmt(gcMs)} ms (${((100 * gcMs) / (t1 + t2)).toFixed(1)} % of the stages' wall time; of which mark-compact and the rest ${fmt(gcMajorMs)} ms)`);
  console.log(`  entities tracked ${fmt(engine.budget.count)} (idle ${fmt(s1.idleCount + s2.idleCount)}), anomalies ${fmt(anomalies)}, late ${fmt(s1.late + s2.late)}; peak RSS so far ${(rss / 2 ** 20).toFixed(0)} MiB (events held in memory included)`);
}

scenario('sparse', Number(opts.minutes));
if (DENSE_MINUTES > 0) {
  console.log('');
  scenario('dense', DENSE_MINUTES);
}

if (MEMORY > 0) {
  console.log('');
  console.log(`bytes per idle entity (${fmt(MEMORY)} entities per case, one process each):`);
  for (const c of ['ip', 'ip-auth', 'token', 'token-ip', 'ip-mature', 'token-mature']) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'apps/detector/src/bench/measure-state-memory.ts', String(MEMORY), c], { encoding: 'utf8' });
    console.log(`  ${out.trim().split('\n').at(-1)}`);
  }
}
