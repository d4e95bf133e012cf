/**
 * Bench of the detector's hot path on one core: per-event window update (WindowAggregate.add) with each entity type's
 * track set, partial windows (reset + add + merge, as the re-key stage does), the wire form of partials, per-closed-window
 * baseline evaluate + update (EntityBaseline, Poisson/NB scoring), and the footprint of an idle entity's state.
 *
 *   npx tsx --expose-gc scripts/bench/detector-math.ts [--entities 5000] [--events 2000000] [--per-window 50]
 *                                                      [--only window|baseline] [--window <module>]
 *
 * Rates are per CPU-second of this process (process.cpuUsage: main thread plus GC helpers), because the bench machine
 * is shared and wall-clock rates swing with the load; the wall-clock rate is printed beside it. `--window` loads another
 * implementation of detection/window.ts (e.g. a copy of an older revision) for an A/B run on the same load.
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_BASELINE_OPTIONS, EntityBaseline, PopulationBaseline, type BaselineOptions } from '../../apps/detector/src/detection/baseline.js';
import { poissonSample, seededRandom } from '../../apps/detector/src/detection/test-random.js';
import type { WindowAggregate, WindowEvent } from '../../apps/detector/src/detection/window.js';
import { WINDOW_TRACKS } from '../../apps/detector/src/engine/detection-engine.js';

const opts = new Command('detector-math')
  .option('--entities <n>', 'IP entities (tokens: a fifth of it)', '5000')
  .option('--events <n>', 'events through the window path', '2000000')
  .option('--per-window <n>', 'mean events per entity window in the combined run', '50')
  .option('--only <section>', 'window | baseline (default: both)')
  .option('--window <module>', 'window module to bench (default: apps/detector/src/detection/window.ts)')
  .parse()
  .opts<{ entities: string; events: string; perWindow: string; only?: string; window?: string }>();
const ENTITIES = Number(opts.entities);
const TOKENS = Math.max(1, Math.floor(ENTITIES / 5));
const EVENTS = Number(opts.events);
const PER_WINDOW = Number(opts.perWindow);
const MINUTE = 60_000;
const T0 = Date.UTC(2024, 5, 3);
const COUNT: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'count' };
const random = seededRandom(42);
const gc = (globalThis as { gc?: () => void }).gc;

type WindowModule = typeof import('../../apps/detector/src/detection/window.js');
const win: WindowModule = opts.window ? ((await import(pathToFileURL(opts.window).href)) as WindowModule) : await import('../../apps/detector/src/detection/window.js');
const { WindowAggregate: Agg, TRACK_ALL } = win;

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs `fn` (which returns how many units it did) and prints units per CPU-second and per wall-clock second. */
function bench(label: string, unit: string, fn: () => number): number {
  gc?.();
  const c0 = cpuMs();
  const t0 = performance.now();
  const n = fn();
  const wall = performance.now() - t0;
  const cpu = cpuMs() - c0;
  const perCpu = (n / cpu) * 1000;
  console.log(`${label.padEnd(58)} ${fmt(perCpu).padStart(11)} ${unit} per CPU-s  (${fmt((n / wall) * 1000)}/s wall, ${fmt(n)} in ${(cpu / 1000).toFixed(2)} CPU-s)`);
  return perCpu;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en');

// a pool of realistic events, reused cyclically: event j comes from IP j mod ENTITIES and (for 80 %) token
// j mod TOKENS, on one of 32 routes (skewed), a path with one of 200 resource ids; 2 % 401, 1 % 404, 0.5 % 503
const POOL = 65_536;
const ips = Array.from({ length: ENTITIES }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const tokens = Array.from({ length: TOKENS }, (_, i) => `tk_${i.toString(36).padStart(6, '0')}`);
const routes = Array.from({ length: 32 }, (_, i) => `/v1/r${i}/:id`);
const routeOf = new Int32Array(POOL);
const events: WindowEvent[] = Array.from({ length: POOL }, (_, j) => {
  const r = Math.floor(32 * random() ** 1.5);
  routeOf[j] = r;
  const u = random();
  return {
    id: `ev${j}`,
    ts: T0 + Math.floor(random() * MINUTE),
    clientIp: ips[j % ENTITIES]!,
    method: r % 5 === 0 ? 'POST' : 'GET',
    path: routes[r]!.replace(':id', String(Math.floor(random() * 200))),
    route: routes[r]!,
    status: u < 0.02 ? 401 : u < 0.03 ? 404 : u < 0.035 ? 503 : 200,
    latencyMs: 5 + random() * 200,
    bytesOut: 200 + Math.floor(random() * 5000),
    tokenId: j % 5 === 4 ? '' : tokens[j % TOKENS]!,
    country: j % 97 === 0 ? 'FR' : 'DE',
    asn: j % 89 === 0 ? 12322 : 3320,
  };
});

type BenchType = 'ip' | 'token' | 'token_ip' | 'endpoint' | 'tenant';
/** Entities of a type, and which one event j belongs to. */
const ENTITY_OF: Record<BenchType, { n: number; of: (j: number) => number }> = {
  ip: { n: ENTITIES, of: (j) => j % ENTITIES },
  token: { n: TOKENS, of: (j) => j % TOKENS },
  token_ip: { n: ENTITIES, of: (j) => j % ENTITIES },
  endpoint: { n: 32, of: (j) => routeOf[j]! },
  tenant: { n: 1, of: () => 0 },
};
const hasToken = (j: number): boolean => (events[j] as WindowEvent).tokenId !== '';

function windowSection(): void {
  console.log(`window path (${fmt(EVENTS)} events, ${fmt(ENTITIES)} IPs, ${fmt(TOKENS)} tokens, 32 routes)`);
  // 1. the window update, per entity type with the engine's track sets: standing windows (dense) and windows of 2 events
  //    reset as the engine's pool does (sparse: most IP and token windows hold one or two events)
  {
    const aggs = Array.from({ length: ENTITIES }, () => new Agg(T0, MINUTE, TRACK_ALL));
    bench('add, everything tracked (TRACK_ALL), dense', 'adds', () => {
      for (let i = 0; i < EVENTS; i++) {
        const j = i & (POOL - 1);
        (aggs[j % ENTITIES] as WindowAggregate).add(events[j] as WindowEvent);
      }
      return EVENTS;
    });
  }
  for (const type of ['ip', 'token', 'token_ip', 'endpoint', 'tenant'] as const) {
    const tracks = WINDOW_TRACKS[type];
    const { n, of } = ENTITY_OF[type];
    const tokenOnly = type === 'token' || type === 'token_ip';
    for (const sparse of type === 'endpoint' || type === 'tenant' ? [false] : [false, true]) {
      const aggs = Array.from({ length: n }, () => new Agg(T0, MINUTE, tracks));
      bench(`add, ${type} windows (tracks ${tracks}), ${sparse ? 'sparse (2 per window)' : 'dense'}`, 'adds', () => {
        let adds = 0;
        for (let i = 0; i < EVENTS; i++) {
          const j = i & (POOL - 1);
          if (tokenOnly && !hasToken(j)) continue;
          const agg = aggs[of(j)] as WindowAggregate;
          if (sparse && agg.requests === 2) agg.reset(T0, MINUTE, tracks);
          agg.add(events[j] as WindowEvent);
          adds++;
        }
        return adds;
      });
    }
  }

  // 2. partial windows as the re-key stage makes them: one per (entity, batch), 1–3 events, merged into the owner's
  //    window, then back to the pool
  for (const type of ['token', 'token_ip', 'endpoint'] as const) {
    const tracks = WINDOW_TRACKS[type];
    const { n, of } = ENTITY_OF[type];
    const owners = Array.from({ length: n }, () => new Agg(T0, MINUTE, tracks));
    const PARTIALS = 200_000;
    const parts: WindowAggregate[] = [];
    const pool: WindowAggregate[] = [];
    let j = 0;
    const build = (): number => {
      let adds = 0;
      for (let p = 0; p < PARTIALS; p++) {
        const agg = pool.pop() ?? new Agg(T0, MINUTE, tracks);
        agg.reset(T0, MINUTE, tracks);
        const k = 1 + (p % 3);
        for (let q = 0; q < k; q++) {
          while (type !== 'endpoint' && !hasToken(j)) j = (j + 1) & (POOL - 1);
          agg.add(events[j] as WindowEvent);
          adds++;
        }
        parts.push(agg);
        j = (j + 1) & (POOL - 1);
      }
      return adds;
    };
    const merge = (): number => {
      for (let p = 0; p < parts.length; p++) {
        const part = parts[p] as WindowAggregate;
        // the owner: the entity of the partial's first event (an index of the pool, not of the entity; close enough)
        (owners[of(p & (POOL - 1)) % n] as WindowAggregate).merge(part);
        pool.push(part);
      }
      const merged = parts.length;
      parts.length = 0;
      return merged;
    };
    build();
    merge();
    bench(`partial of 1–3 events: reset + add, ${type} (tracks ${tracks})`, 'adds', build);
    bench(`partial of 1–3 events: merge into the window, ${type}`, 'merges', merge);
    build();
    const wire = parts.map((p) => JSON.stringify(p));
    bench(`partial of 1–3 events: toJSON + stringify, ${type}`, 'partials', () => {
      let bytes = 0;
      for (const p of parts) bytes += JSON.stringify(p).length;
      return bytes > 0 ? parts.length : 0;
    });
    bench(`partial of 1–3 events: parse + fromJSON, ${type}`, 'partials', () => {
      let reqs = 0;
      for (const s of wire) reqs += Agg.fromJSON(JSON.parse(s)).requests;
      return reqs > 0 ? wire.length : 0;
    });
    merge();
  }

  // 3. what a closed window with an anomaly reads: contributors, p95, distinct counts (dense windows)
  {
    const tracks = WINDOW_TRACKS.endpoint;
    const aggs = Array.from({ length: 32 }, () => new Agg(T0, MINUTE, tracks));
    for (let i = 0; i < 200_000; i++) (aggs[routeOf[i & (POOL - 1)]!] as WindowAggregate).add(events[i & (POOL - 1)] as WindowEvent);
    const live = aggs.filter((a) => a.requests > 0);
    bench('contributors + p95 + distinct of a dense endpoint window', 'reads', () => {
      let s = 0;
      const rounds = 2_000;
      for (let r = 0; r < rounds; r++) {
        for (const a of live) s += a.top('ips', 5).length + a.top('paths', 5).length + a.top('statuses', 5).length + a.latencyP95() + a.distinctCount('ips');
      }
      return s > 0 ? rounds * live.length : 0;
    });
  }
}

function baselineSection(): void {
  // 4. baseline evaluate + update per closed window
  {
    const baselines = Array.from({ length: ENTITIES }, () => new EntityBaseline(COUNT));
    const population = new PopulationBaseline();
    const means = Array.from({ length: ENTITIES }, () => 1 + random() * 100);
    const windows = 100;
    const observed = Array.from({ length: windows * ENTITIES }, (_, k) => poissonSample(random, means[k % ENTITIES] as number));
    let critical = 0;
    bench('baseline evaluate+update (count, NB/Poisson)', 'windows', () => {
      for (let w = 0; w < windows; w++) {
        const ws = T0 + w * MINUTE;
        for (let e = 0; e < ENTITIES; e++) {
          const b = baselines[e] as EntityBaseline;
          const x = observed[w * ENTITIES + e] as number;
          if (b.evaluate(x, ws, population).severity === 'critical') critical++;
          b.update(x, ws, population);
        }
      }
      return windows * ENTITIES;
    });
    console.log(`  (${(critical / (windows * ENTITIES)).toFixed(5)} critical on normal traffic)`);
  }

  // 5. combined: events into IP windows, a closed window per entity every PER_WINDOW events on average
  {
    const tracks = WINDOW_TRACKS.ip;
    const aggs = Array.from({ length: ENTITIES }, () => new Agg(T0, MINUTE, tracks));
    const baselines = Array.from({ length: ENTITIES }, () => new EntityBaseline(COUNT));
    const population = new PopulationBaseline();
    const windowEvery = PER_WINDOW * ENTITIES;
    let closed = 0;
    bench(`combined IP window + baseline + scoring (${PER_WINDOW}/window)`, 'events', () => {
      let ws = T0;
      for (let i = 0; i < EVENTS; i++) {
        const j = i & (POOL - 1);
        (aggs[j % ENTITIES] as WindowAggregate).add(events[j] as WindowEvent);
        if ((i + 1) % windowEvery === 0) {
          for (let e = 0; e < ENTITIES; e++) {
            const b = baselines[e] as EntityBaseline;
            const agg = aggs[e] as WindowAggregate;
            b.evaluate(agg.requests, ws, population);
            b.update(agg.requests, ws, population);
            agg.reset(ws + MINUTE, MINUTE, tracks);
            closed++;
          }
          ws += MINUTE;
        }
      }
      return EVENTS;
    });
    console.log(`  (${fmt(closed)} windows closed)`);
  }

  // 6. footprint of an idle entity (one count metric baseline)
  {
    const b = new EntityBaseline(COUNT);
    for (let w = 0; w < 3 * 24 * 60; w++) b.update(poissonSample(random, 20), T0 + w * MINUTE);
    console.log(`idle entity state: ${b.toBytes().byteLength} bytes binary, ${b.toState().length} bytes base64 (checkpoint form)`);
    if (gc) {
      const n = 100_000;
      gc();
      const before = process.memoryUsage();
      const live = Array.from({ length: n }, () => EntityBaseline.fromState(b.toBytes(), COUNT));
      gc();
      const mid = process.memoryUsage();
      const stored = live.map((x) => x.toBytes());
      live.length = 0;
      gc();
      const after = process.memoryUsage();
      const heap = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.arrayBuffers;
      console.log(`  in memory, live EntityBaseline objects: ${Math.round((heap(mid) - heap(before)) / n)} bytes each (heap + array buffers, ${n.toLocaleString('en')} entities)`);
      console.log(`  in memory, kept as toBytes():           ${Math.round((heap(after) - heap(before)) / n)} bytes each`);
      if (stored.length !== n) throw new Error('unreachable');
    } else console.log('  (run with --expose-gc for the in-memory figures)');
  }
}

console.log(`node ${process.version}${opts.window ? `, window module ${opts.window}` : ''}`);
if (opts.only !== 'baseline') windowSection();
if (opts.only !== 'window') baselineSection();
