/**
 * detector-path.ts as an A/B in ONE process, for a loaded machine (separate runs minutes apart measure the machine's
 * business more than the code): an older tree's window and baseline code and this tree's are imported side by side
 * and run over the same generated events (seed 11, 4,000 IPs, 300 tokens, 200 rps, no attacks), alternating A B / B A
 * for --pairs pairs after one warm-up run each; prints each run's events per CPU-second and the medians. Same loop as
 * detector-path.ts: every event into its IP, token, token×IP, endpoint and tenant windows, closed windows judged and
 * their baselines updated, each run from empty state.
 *
 *   git worktree add --detach /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --expose-gc --import tsx scripts/bench/detector-path-ab.ts --base /tmp/old [--events 300000] [--pairs 6]
 *
 * --base needs the same module layout (apps/detector/src/detection/{baseline,window}.ts,
 * apps/detector/src/engine/{detection-engine,metrics-catalog}.ts). --no-tops tenant,endpoint,… runs B without top
 * contributors on those entity types (to see what they cost).
 */
import { loadavg } from 'node:os';
import type { EntityType } from '@vigil/contracts';
import type * as BaselineModule from '../../apps/detector/src/detection/baseline.js';
import type * as WindowModule from '../../apps/detector/src/detection/window.js';
import type * as EngineModule from '../../apps/detector/src/engine/detection-engine.js';
import type * as MetricsModule from '../../apps/detector/src/engine/metrics-catalog.js';
import { TrafficPlan } from '../../libs/testing/src/traffic/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const EVENTS = Number(args.get('events') ?? 300_000);
const PAIRS = Number(args.get('pairs') ?? 6);
const BASE = args.get('base');
const NO_TOPS = (args.get('no-tops') ?? '').split(',').filter(Boolean);
if (!BASE) throw new Error('--base <directory of the older tree> is required');
const MIN = 60_000;
const TYPES: EntityType[] = ['ip', 'token', 'token_ip', 'endpoint', 'tenant'];

interface Tree {
  b: typeof BaselineModule;
  w: typeof WindowModule;
  tracks: Readonly<Record<EntityType, number>>;
  m: typeof MetricsModule;
}

async function load(root: string, noTops: readonly string[]): Promise<Tree> {
  const e = (await import(`${root}/apps/detector/src/engine/detection-engine.ts`)) as typeof EngineModule;
  const tracks = Object.fromEntries(TYPES.map((t) => [t, noTops.includes(t) ? e.WINDOW_TRACKS[t] & ~128 : e.WINDOW_TRACKS[t]])) as Record<EntityType, number>;
  return {
    b: (await import(`${root}/apps/detector/src/detection/baseline.ts`)) as typeof BaselineModule,
    w: (await import(`${root}/apps/detector/src/detection/window.ts`)) as typeof WindowModule,
    tracks,
    m: (await import(`${root}/apps/detector/src/engine/metrics-catalog.ts`)) as typeof MetricsModule,
  };
}

const A = await load(BASE, []);
const B = await load(new URL('../..', import.meta.url).pathname.replace(/\/$/, ''), NO_TOPS);

const plan = new TrafficPlan({ seed: 11, rps: 200, durationMs: Math.ceil(EVENTS / 200) * 1000 * 1.3, attacks: 'none' });
const events: (WindowModule.WindowEvent & { tenant: string })[] = [];
for (const r of plan.records()) {
  events.push(r.event);
  if (events.length >= EVENTS) break;
}
const endpointOf = events.map((e) => `${e.method} ${e.route}`);
const tokenIpOf = events.map((e) => (e.tokenId ? `${e.tokenId}|${e.clientIp}` : ''));

/** One run from empty state; events per CPU-second. */
function run(t: Tree): number {
  interface Slot {
    agg: WindowModule.WindowAggregate;
    baselines: BaselineModule.EntityBaseline[];
  }
  const maps = TYPES.map(() => new Map<string, Slot>());
  const populations = TYPES.map((type) => t.m.ENTITY_METRICS[type].map(() => new t.b.PopulationBaseline()));
  const close = (ti: number, s: Slot, next: number): void => {
    const type = TYPES[ti]!;
    const metrics = t.m.ENTITY_METRICS[type];
    const ws = s.agg.windowStart;
    for (let mi = 0; mi < metrics.length; mi++) {
      const spec = t.m.METRICS[metrics[mi]!];
      const v = spec.value(s.agg);
      const b = (s.baselines[mi] ??= new t.b.EntityBaseline(spec.options));
      const pop = populations[ti]![mi]!;
      b.judge(v, ws, pop, 0.5);
      b.update(v, ws, pop);
    }
    s.agg.reset(next, MIN, t.tracks[type]);
  };
  const hashes = new t.w.EventHashes();
  const c0 = process.cpuUsage();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    hashes.set(e);
    const ws = e.ts - (e.ts % MIN);
    for (let ti = 0; ti < 5; ti++) {
      const key = ti === 0 ? e.clientIp : ti === 1 ? e.tokenId : ti === 2 ? tokenIpOf[i]! : ti === 3 ? endpointOf[i]! : e.tenant;
      if (!key) continue;
      const m = maps[ti]!;
      let s = m.get(key);
      if (!s) m.set(key, (s = { agg: new t.w.WindowAggregate(ws, MIN, t.tracks[TYPES[ti]!]), baselines: [] }));
      else if (ws > s.agg.windowStart) close(ti, s, ws);
      s.agg.add(e, hashes);
    }
  }
  for (let ti = 0; ti < 5; ti++) for (const s of maps[ti]!.values()) if (s.agg.requests) close(ti, s, s.agg.windowStart + MIN);
  const c = process.cpuUsage(c0);
  return events.length / ((c.user + c.system) / 1e6);
}

const gc = (globalThis as { gc?: () => void }).gc;
const res = { A: [] as number[], B: [] as number[] };
run(A);
run(B);
for (let p = 0; p < PAIRS; p++) {
  for (const n of p % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
    gc?.();
    res[n].push(run(n === 'A' ? A : B));
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const k = (x: number): string => `${Math.round(x / 1000)}k`;
console.log(
  `load ${loadavg()[0]!.toFixed(1)}, ${events.length.toLocaleString('en')} events: A (${BASE}) ${res.A.map(k).join(' ')}, median ${k(median(res.A))} | ` +
    `B (this tree${NO_TOPS.length ? `, no tops on ${NO_TOPS.join(',')}` : ''}) ${res.B.map(k).join(' ')}, median ${k(median(res.B))} events per CPU-s`,
);
