/**
 * The detector's window and baseline update path on one core, every entity type: each event goes into the current
 * window of its IP, token, token×IP, endpoint and tenant (the engine's track sets); when an entity's window ends,
 * every metric the engine keeps a baseline for on that type is judged against its baseline as the engine does
 * (`judge()`: the NB / Poisson bound, the full evaluation only above it) and the baseline updated, with the type's
 * population baseline as the cold-start prior, then the window is reset for reuse. Not in this path: the rules (injection, TLS, deprecated
 * versions, allowlists), explanations and anomalies, the re-key hop between instances, checkpoints (see bench:detector).
 *
 *   node --expose-gc --import tsx scripts/bench/detector-path.ts [--events 1000000] [--rps 200] [--rounds 3]
 *
 * Traffic is the generator's (seed 11, 4,000 IPs, 300 tokens, no attacks), produced before timing; each of 3 rounds
 * (--rounds) starts from empty state (first windows and baselines are created inside the timed loop, as a fresh instance would).
 * Prints events per CPU-second of this process and per wall-clock second.
 */
import type { EntityType } from '@vigil/contracts';
import { EntityBaseline, PopulationBaseline } from '../../apps/detector/src/detection/baseline.js';
import { EventHashes, WindowAggregate, type WindowEvent } from '../../apps/detector/src/detection/window.js';
import { WINDOW_TRACKS } from '../../apps/detector/src/engine/detection-engine.js';
import { ENTITY_METRICS, METRICS } from '../../apps/detector/src/engine/metrics-catalog.js';
import { TrafficPlan } from '../../libs/testing/src/traffic/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const EVENTS = Number(args.get('events') ?? 1_000_000);
const RPS = Number(args.get('rps') ?? 200);
const MIN = 60_000;
/** The baseline detectors' default minScore (detector-config.ts). */
const MIN_SCORE = 0.5;

interface Slot { agg: WindowAggregate; baselines: EntityBaseline[] }
const TYPES: EntityType[] = ['ip', 'token', 'token_ip', 'endpoint', 'tenant'];

const t0 = performance.now();
const plan = new TrafficPlan({ seed: 11, rps: RPS, durationMs: Math.ceil(EVENTS / RPS) * 1000 * 1.3, attacks: 'none' });
const events: (WindowEvent & { tenant: string })[] = [];
for (const r of plan.records()) {
  events.push(r.event);
  if (events.length >= EVENTS) break;
}
const endpointOf = events.map((e) => `${e.method} ${e.route}`);
const tokenIpOf = events.map((e) => (e.tokenId ? `${e.tokenId}|${e.clientIp}` : ''));
console.log(`${events.length.toLocaleString('en')} events generated in ${((performance.now() - t0) / 1000).toFixed(1)} s (${plan.options.ipCount} IPs, ${plan.options.tokenCount} tokens, ${RPS} rps)`);

function run(): { cpuMs: number; wallMs: number; closed: Record<string, number>; evaluations: number } {
  const maps = TYPES.map(() => new Map<string, Slot>());
  const populations = TYPES.map((t) => ENTITY_METRICS[t].map(() => new PopulationBaseline()));
  const closed: Record<string, number> = {};
  let evaluations = 0;
  const close = (ti: number, s: Slot, next: number): void => {
    const type = TYPES[ti]!;
    const metrics = ENTITY_METRICS[type];
    const ws = s.agg.windowStart;
    for (let mi = 0; mi < metrics.length; mi++) {
      const spec = METRICS[metrics[mi]!];
      const v = spec.value(s.agg);
      const b = (s.baselines[mi] ??= new EntityBaseline(spec.options));
      const pop = populations[ti]![mi]!;
      // as the engine decides a closed window: judge() (the full evaluate() only when it is above the bound)
      b.judge(v, ws, pop, MIN_SCORE);
      b.update(v, ws, pop);
      evaluations++;
    }
    closed[type] = (closed[type] ?? 0) + 1;
    s.agg.reset(next, MIN, WINDOW_TRACKS[type]);
  };
  const hashes = new EventHashes();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    hashes.set(e); // each string hashed once per event, shared by its 5 windows (as the engine does)
    const ws = e.ts - (e.ts % MIN);
    for (let ti = 0; ti < 5; ti++) {
      const key = ti === 0 ? e.clientIp : ti === 1 ? e.tokenId : ti === 2 ? tokenIpOf[i]! : ti === 3 ? endpointOf[i]! : e.tenant;
      if (!key) continue;
      const m = maps[ti]!;
      let s = m.get(key);
      if (!s) m.set(key, (s = { agg: new WindowAggregate(ws, MIN, WINDOW_TRACKS[TYPES[ti]!]), baselines: [] }));
      else if (ws > s.agg.windowStart) close(ti, s, ws);
      s.agg.add(e, hashes);
    }
  }
  for (let ti = 0; ti < 5; ti++) for (const s of maps[ti]!.values()) if (s.agg.requests) close(ti, s, s.agg.windowStart + MIN);
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - w0, closed, evaluations };
}

const ROUNDS = Number(args.get('rounds') ?? 3);
for (let round = 1; round <= ROUNDS; round++) {
  (globalThis as { gc?: () => void }).gc?.();
  const r = run();
  console.log(
    `round ${round}: ${Math.round((events.length / r.cpuMs) * 1000).toLocaleString('en')} events per CPU-s (${Math.round((events.length / r.wallMs) * 1000).toLocaleString('en')}/s wall); ` +
      `windows closed ${JSON.stringify(r.closed)}, ${r.evaluations.toLocaleString('en')} baseline judge+update`,
  );
}
