/**
 * Bench of the detector's hot path on one core: per-event window update (WindowAggregate.add), per-closed-window
 * baseline evaluate + update (EntityBaseline, Poisson/NB scoring), and the footprint of an idle entity's state.
 *
 *   npx tsx --expose-gc scripts/bench/detector-math.ts [--entities 5000] [--events 2000000] [--per-window 50]
 */
import { Command } from 'commander';
import { DEFAULT_BASELINE_OPTIONS, EntityBaseline, PopulationBaseline, type BaselineOptions } from '../../apps/detector/src/detection/baseline.js';
import { poissonSample, seededRandom } from '../../apps/detector/src/detection/test-random.js';
import { WindowAggregate, type WindowEvent } from '../../apps/detector/src/detection/window.js';

const opts = new Command('detector-math')
  .option('--entities <n>', 'entities', '5000')
  .option('--events <n>', 'events through the window path', '2000000')
  .option('--per-window <n>', 'mean events per entity window in the combined run', '50')
  .parse()
  .opts<{ entities: string; events: string; perWindow: string }>();
const ENTITIES = Number(opts.entities);
const EVENTS = Number(opts.events);
const PER_WINDOW = Number(opts.perWindow);
const MINUTE = 60_000;
const T0 = Date.UTC(2024, 5, 3);
const COUNT: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'count' };
const random = seededRandom(42);
const gc = (globalThis as { gc?: () => void }).gc;

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;
}

// a pool of realistic events (distinct ips/paths/tokens), reused cyclically
const POOL = 65_536;
const events: WindowEvent[] = Array.from({ length: POOL }, (_, i) => ({
  id: `e${i}`,
  ts: T0 + Math.floor(random() * MINUTE),
  clientIp: `10.${(i >> 8) & 255}.${i & 255}.${i % 7}`,
  method: 'GET',
  path: `/api/v1/items/${i % 500}`,
  route: '/api/v1/items/:id',
  status: random() < 0.03 ? 401 : 200,
  latencyMs: 5 + random() * 200,
  bytesOut: 200 + Math.floor(random() * 5000),
  tokenId: `tok${i % 1000}`,
  country: 'DE',
  asn: 3320,
}));

// 1. window update only
{
  const aggs = Array.from({ length: ENTITIES }, () => new WindowAggregate(T0, MINUTE));
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i++) (aggs[i % ENTITIES] as WindowAggregate).add(events[i & (POOL - 1)] as WindowEvent);
  const ms = performance.now() - t0;
  console.log(`window update (WindowAggregate.add):          ${rate(EVENTS, ms)} events (${EVENTS.toLocaleString('en')} events, ${ENTITIES} entities)`);
}

// 2. baseline evaluate + update per closed window
{
  const baselines = Array.from({ length: ENTITIES }, () => new EntityBaseline(COUNT));
  const population = new PopulationBaseline();
  const means = Array.from({ length: ENTITIES }, () => 1 + random() * 100);
  const windows = 100;
  const observed = Array.from({ length: windows * ENTITIES }, (_, k) => poissonSample(random, means[k % ENTITIES] as number));
  let critical = 0;
  const t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    const ws = T0 + w * MINUTE;
    for (let e = 0; e < ENTITIES; e++) {
      const b = baselines[e] as EntityBaseline;
      const x = observed[w * ENTITIES + e] as number;
      if (b.evaluate(x, ws, population).severity === 'critical') critical++;
      b.update(x, ws, population);
    }
  }
  const ms = performance.now() - t0;
  console.log(`baseline evaluate+update (count, NB/Poisson): ${rate(windows * ENTITIES, ms)} closed windows (${(critical / (windows * ENTITIES)).toFixed(5)} critical on normal traffic)`);
}

// 3. combined: events into windows, a closed window per entity every PER_WINDOW events on average
{
  const aggs = Array.from({ length: ENTITIES }, () => new WindowAggregate(T0, MINUTE));
  const baselines = Array.from({ length: ENTITIES }, () => new EntityBaseline(COUNT));
  const population = new PopulationBaseline();
  const windowEvery = PER_WINDOW * ENTITIES;
  let closed = 0;
  let ws = T0;
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    (aggs[i % ENTITIES] as WindowAggregate).add(events[i & (POOL - 1)] as WindowEvent);
    if ((i + 1) % windowEvery === 0) {
      for (let e = 0; e < ENTITIES; e++) {
        const b = baselines[e] as EntityBaseline;
        const agg = aggs[e] as WindowAggregate;
        b.evaluate(agg.requests, ws, population);
        b.update(agg.requests, ws, population);
        aggs[e] = new WindowAggregate(ws + MINUTE, MINUTE);
        closed++;
      }
      ws += MINUTE;
    }
  }
  const ms = performance.now() - t0;
  console.log(`combined window + baseline + scoring:         ${rate(EVENTS, ms)} events (${closed.toLocaleString('en')} windows closed, ${PER_WINDOW} events/window)`);
}

// 4. footprint of an idle entity (one count metric baseline)
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
