/**
 * The detector's window and baseline update path on one core, every entity type: each event goes into the current
 * window of its IP, token, token×IP, endpoint and tenant (the engine's track sets); when an entity's window ends, it is
 * closed as the engine closes it (detection-engine.ts closeWindows): the detectors of the default config look at it
 * (evaluateClosedWindow: each baseline detector's absolute gate first, then `judge()`, the NB / Poisson bound, the
 * full evaluation only above it; the scraping and token-location checks), then every metric is folded into the
 * entity's baseline with the type's population baseline as the cold-start prior (EntityState.folds: a lazy metric,
 * 401/403s or 5xx, only once it has been non-zero), and the window is reset for reuse. Not in this path: early
 * firing, the rules (injection, TLS, deprecated versions, allowlists), explanations of anomalies and their publishing,
 * the re-key hop between instances, checkpoints (see bench:detector).
 *
 *   node --expose-gc --import tsx scripts/bench/detector-path.ts [--events 1000000] [--rps 200] [--rounds 4] [--state steady|empty]
 *                                    [--judge engine|all|none] [--types ip,token,token_ip,endpoint,tenant|none] [--profile <file.cpuprofile>]
 *
 * --state      steady (the default): round 1 starts from empty state, and every later round carries on with the state
 *              the round before left (its entities, open windows, baselines and populations) over the same traffic
 *              moved forward in time by its span in whole windows (outside the timing), as a detector that has been
 *              running sees it (the target's measure since session 12). empty: every round starts from empty
 *              state, so each one also creates the 5,070 entities and their first windows and baselines, and V8
 *              promotes them (sessions 1–11 measured so, without the wait for the sweep below).
 * --profile    a V8 CPU profile of the last round only (open it in Chrome DevTools or speedscope).
 * --judge all  the stricter path of session 7–8's figures: every metric of every closed window judged against its
 *              baseline whatever the detectors' gates say, and every metric folded in (lazy ones too).
 * --judge none a closed window is only reset: no detector, no baseline update (what the closes cost, by difference).
 * --types      only these entity types' windows (what each type costs, by difference; the default is all five;
 *              none: the loop and the per-event hashing alone).
 *
 * Traffic is the generator's (seed 11, 4,000 IPs, 300 tokens, no attacks), produced before timing. Round 1 starts
 * from empty state and pays for compiling the path too. Prints events per CPU-second of this process (every thread:
 * V8's helper threads included) and per wall-clock second, and the CPU time of V8's helper threads (parallel and
 * concurrent GC, concurrent compilation) where /proc shows them. Before each round a full collection runs, and
 * the round waits for its concurrent sweeping (of the ~630 MB of generated events: ~130 ms of helper CPU within
 * ~0.5 s, measured) to end (proc.ts collectAndSettle), so that the harness's own garbage is not billed to the path.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { EntityType } from '@vigil/contracts';
import { EntityBaseline, PopulationBaseline } from '../../apps/detector/src/detection/baseline.js';
import { EventHashes, WindowAggregate, type WindowEvent } from '../../apps/detector/src/detection/window.js';
import { DEFAULT_DETECTORS_CONFIG } from '../../apps/detector/src/detectors/detector-config.js';
import { evaluateClosedWindow, type WindowCtx } from '../../apps/detector/src/detectors/detectors.js';
import { WINDOW_TRACKS } from '../../apps/detector/src/engine/detection-engine.js';
import { EntityState } from '../../apps/detector/src/engine/entity-state.js';
import { ENTITY_METRICS, METRICS, type MetricName } from '../../apps/detector/src/engine/metrics-catalog.js';
import { TrafficPlan } from '../../libs/testing/src/traffic/index.js';
import { collectAndSettle, otherThreadsCpuSeconds } from './proc.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const EVENTS = Number(args.get('events') ?? 1_000_000);
const RPS = Number(args.get('rps') ?? 200);
const MIN = 60_000;
/** The baseline detectors' default minScore (detector-config.ts). */
const MIN_SCORE = 0.5;
const JUDGE = args.get('judge') ?? 'engine';
const STATE = args.get('state') ?? 'steady';
if (STATE !== 'steady' && STATE !== 'empty') throw new Error('--state must be steady or empty');
if (JUDGE !== 'engine' && JUDGE !== 'all' && JUDGE !== 'none') throw new Error('--judge must be engine, all or none');

/** An entity: its window, and its baselines as the engine keeps them (EntityState) or, with --judge all, by metric. */
interface Slot { agg: WindowAggregate; state: EntityState | null; baselines: EntityBaseline[] }
const TYPES: EntityType[] = ['ip', 'token', 'token_ip', 'endpoint', 'tenant'];
// 'none': no window at all (the loop and the hashing alone)
const ONLY = args.get('types') === 'none' ? [] : (args.get('types') ?? TYPES.join(',')).split(',');
for (const t of ONLY) if (!TYPES.includes(t as EntityType)) throw new Error(`--types: unknown entity type ${t} (${TYPES.join(', ')})`);
/** Bit ti set: windows of TYPES[ti] are updated. */
const TYPE_MASK = TYPES.reduce((m, t, ti) => (ONLY.includes(t) ? m | (1 << ti) : m), 0);

const t0 = performance.now();
const plan = new TrafficPlan({ seed: 11, rps: RPS, durationMs: Math.ceil(EVENTS / RPS) * 1000 * 1.3, attacks: 'none' });
const events: (WindowEvent & { tenant: string })[] = [];
for (const r of plan.records()) {
  // as the engine gets it: decoded from the message's JSON, so every string is flat (the generator builds some by
  // concatenation, and a cons string is flattened, i.e. copied, by the first hash or Map lookup that reads it)
  events.push(JSON.parse(JSON.stringify(r.event)) as WindowEvent & { tenant: string });
  if (events.length >= EVENTS) break;
}
// the engine's endpoint and token×IP entity names (built once per batch and entity there, not per event): flat too
const flat = (s: string): string => JSON.parse(JSON.stringify(s)) as string;
const endpointOf = events.map((e) => flat(`${e.method} ${e.route}`));
const tokenIpOf = events.map((e) => (e.tokenId ? flat(`${e.tokenId}|${e.clientIp}`) : ''));
console.log(`${events.length.toLocaleString('en')} events generated in ${((performance.now() - t0) / 1000).toFixed(1)} s (${plan.options.ipCount} IPs, ${plan.options.tokenCount} tokens, ${RPS} rps)`);

/** The entities by type, and the types' population baselines: new for every round (--state empty) or carried on. */
interface PathState { maps: Map<string, Slot>[]; populations: Map<MetricName, PopulationBaseline>[] }
const emptyState = (): PathState => ({
  maps: TYPES.map(() => new Map<string, Slot>()),
  populations: TYPES.map((t) => new Map<MetricName, PopulationBaseline>(ENTITY_METRICS[t].map((m) => [m, new PopulationBaseline()]))),
});

/** What a round counts: windows closed by type, baseline updates, findings (reset for every round). */
const tally = { closed: {} as Record<string, number>, evaluations: 0, findings: 0 };
/** The state rounds run on (--state empty: a new one for each), and the population baselines of the type whose window is closing. */
let cur = emptyState();
let popOf = cur.populations[0]!;
// the engine's EvalCtx: one object refilled for every window. It and the closes are made once, not per round: a
// round with new closures would first deoptimize the code the round before optimized around the old ones
const ctx: WindowCtx = {
  tenant: events[0]?.tenant ?? '', entityType: 'ip', entity: '', windowStart: 0, windowMs: MIN, agg: null as unknown as WindowAggregate, state: null as unknown as EntityState,
  population: (metric) => popOf.get(metric),
};
/** Every close ends here (--judge none: only this): the window counted as closed and reset for its next one. */
function resetClosed(ti: number, _key: string, s: Slot, next: number): void {
  const type = TYPES[ti]!;
  tally.closed[type] = (tally.closed[type] ?? 0) + 1;
  s.agg.reset(next, MIN, WINDOW_TRACKS[type]);
}
function closeAsEngine(ti: number, key: string, s: Slot, next: number): void {
  const type = TYPES[ti]!;
  const ws = s.agg.windowStart;
  const es = s.state!;
  popOf = cur.populations[ti]!;
  ctx.entityType = type;
  ctx.entity = key;
  ctx.windowStart = ws;
  ctx.agg = s.agg;
  ctx.state = es;
  tally.findings += evaluateClosedWindow(ctx, DEFAULT_DETECTORS_CONFIG, null).length;
  const metrics = ENTITY_METRICS[type];
  for (let mi = 0; mi < metrics.length; mi++) {
    const m = metrics[mi]!;
    const value = METRICS[m].value(s.agg);
    if (!es.folds(m, value)) continue;
    es.baseline(m).update(value, ws, popOf.get(m));
    tally.evaluations++;
  }
  es.windowClosed(ws);
  resetClosed(ti, key, s, next);
}
function closeAll(ti: number, key: string, s: Slot, next: number): void {
  const type = TYPES[ti]!;
  const metrics = ENTITY_METRICS[type];
  const ws = s.agg.windowStart;
  for (let mi = 0; mi < metrics.length; mi++) {
    const spec = METRICS[metrics[mi]!];
    const v = spec.value(s.agg);
    const b = (s.baselines[mi] ??= new EntityBaseline(spec.options));
    const pop = cur.populations[ti]!.get(metrics[mi]!);
    // judge() (the full evaluate() only when it is above the bound) whatever the gates say, then update
    if (b.judge(v, ws, pop, MIN_SCORE)) tally.findings++;
    b.update(v, ws, pop);
    tally.evaluations++;
  }
  resetClosed(ti, key, s, next);
}
const close = JUDGE === 'all' ? closeAll : JUDGE === 'none' ? resetClosed : closeAsEngine;

/** One round over the events, on `cur`. */
function run(): { cpuMs: number; wallMs: number; closed: Record<string, number>; evaluations: number; findings: number } {
  const { maps } = cur;
  tally.closed = {};
  tally.evaluations = 0;
  tally.findings = 0;
  const hashes = new EventHashes();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    hashes.set(e); // each string hashed once per event, shared by its 5 windows (as the engine does)
    const ws = e.ts - (e.ts % MIN);
    for (let ti = 0; ti < 5; ti++) {
      if (!(TYPE_MASK & (1 << ti))) continue;
      const key = ti === 0 ? e.clientIp : ti === 1 ? e.tokenId : ti === 2 ? tokenIpOf[i]! : ti === 3 ? endpointOf[i]! : e.tenant;
      if (!key) continue;
      const m = maps[ti]!;
      let s = m.get(key);
      if (!s) m.set(key, (s = { agg: new WindowAggregate(ws, MIN, WINDOW_TRACKS[TYPES[ti]!]), state: JUDGE === 'engine' ? new EntityState(TYPES[ti]!, ws) : null, baselines: [] }));
      else if (ws > s.agg.windowStart) close(ti, key, s, ws);
      s.agg.add(e, hashes);
    }
  }
  // empty state: the windows still open are closed too (their state is dropped next); steady: the next round closes them
  if (STATE === 'empty') for (let ti = 0; ti < 5; ti++) for (const [key, s] of maps[ti]!) if (s.agg.requests) close(ti, key, s, s.agg.windowStart + MIN);
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - w0, closed: tally.closed, evaluations: tally.evaluations, findings: tally.findings };
}

const ROUNDS = Number(args.get('rounds') ?? 4);
const PROFILE = args.get('profile');
const profiler = PROFILE ? new Session() : null;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
}
// one span of the traffic in whole windows: --state steady moves every event forward by it between rounds
const SPAN = events.length ? Math.ceil((events[events.length - 1]!.ts - events[0]!.ts + 1) / MIN) * MIN : 0;
for (let round = 1; round <= ROUNDS; round++) {
  if (round > 1) {
    if (STATE === 'empty') cur = emptyState();
    else for (const e of events) e.ts += SPAN;
  }
  // the collection's concurrent sweep (of the generated events' heap) ends before the round, not inside it
  await collectAndSettle();
  if (profiler && round === ROUNDS) await profiler.post('Profiler.start');
  const h0 = otherThreadsCpuSeconds();
  const r = run();
  const helperMs = Math.round((otherThreadsCpuSeconds() - h0) * 1000);
  if (profiler && round === ROUNDS) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(PROFILE!, JSON.stringify(profile));
    console.log(`round ${round}: CPU profile written to ${PROFILE}`);
  }
  console.log(
    `round ${round}: ${Math.round((events.length / r.cpuMs) * 1000).toLocaleString('en')} events per CPU-s (${Math.round((events.length / r.wallMs) * 1000).toLocaleString('en')}/s wall); ` +
      `windows closed ${JSON.stringify(r.closed)}, ${r.evaluations.toLocaleString('en')} baseline updates, ${r.findings.toLocaleString('en')} findings ` +
      `(--judge ${JUDGE}, ${round > 1 && STATE === 'steady' ? 'state carried on' : 'from empty state'}` +
      `${Number.isNaN(helperMs) ? '' : `; V8 helper threads ${helperMs} ms of the ${Math.round(r.cpuMs)} ms CPU`})`,
  );
}
