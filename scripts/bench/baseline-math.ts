/**
 * CPU cost of the closed-window baseline path on one core (apps/detector/src/detection/baseline.ts): evaluate + update
 * per closed window for count metrics (Poisson / negative binomial) and continuous metrics (median/MAD, log space),
 * with and without the population prior, plus building and decoding an EntityBaseline.
 *
 *   npx tsx scripts/bench/baseline-math.ts [--entities 2000] [--windows 200]
 *
 * Figures are per CPU-second (process.cpuUsage, user + system), so a shared machine distorts them less than wall
 * clock; report `uptime` with them. Each case also prints a checksum over every Evaluation field it produced (and
 * how many windows would fire), so an A/B run proves the scores and decisions stayed the same.
 */
import { Command } from 'commander';
import { DEFAULT_BASELINE_OPTIONS, EntityBaseline, PopulationBaseline, type BaselineOptions, type Evaluation } from '../../apps/detector/src/detection/baseline.js';
import { poissonSample, seededRandom } from '../../apps/detector/src/detection/test-random.js';

const opts = new Command('baseline-math')
  .option('--entities <n>', 'entities per case', '2000')
  .option('--windows <n>', 'closed windows per entity', '200')
  .parse()
  .opts<{ entities: string; windows: string }>();
const ENTITIES = Number(opts.entities);
const WINDOWS = Number(opts.windows);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2024, 5, 3);
const COUNT: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'count', ringSize: 1 };
const CONTINUOUS: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'continuous', ringSize: 16 };

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function perCpuS(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en')}/CPU-s (${((ms * 1000) / n).toFixed(3)} µs each)`;
}

interface Case {
  name: string;
  options: BaselineOptions;
  /** Window step: a minute, or an hour so that seasonal factors come into play within the run. */
  step: number;
  population: boolean;
  value: (random: () => number, entity: number, w: number) => number;
}

const CASES: Case[] = [
  // sparse IPs: one or two requests a window (Poisson at small means)
  { name: 'count, sparse (mean ~1.5), own history', options: COUNT, step: MINUTE, population: false, value: (r) => poissonSample(r, 1.5) },
  // busy entities with hour-of-day swings (overdispersed: negative binomial), seasonal levels reached
  {
    name: 'count, busy diurnal (NB, seasonal), own history',
    options: COUNT,
    step: HOUR,
    population: false,
    value: (r, e, w) => poissonSample(r, (5 + (e % 50)) * (1 + 0.8 * Math.sin((2 * Math.PI * (w % 24)) / 24))),
  },
  { name: 'count, mixed means, with population', options: COUNT, step: MINUTE, population: true, value: (r, e) => poissonSample(r, 1 + (e % 100)) },
  { name: 'continuous (latency ms), own history', options: CONTINUOUS, step: MINUTE, population: false, value: (r, e) => (20 + (e % 30)) * Math.exp(0.3 * (r() - 0.5)) },
  { name: 'continuous (bytes), with population, seasonal', options: CONTINUOUS, step: HOUR, population: true, value: (r, e, w) => 1e4 * (1 + (e % 7)) * (1.5 + Math.sin(w / 4)) * (0.8 + 0.4 * r()) },
];

function checksum(acc: number[], e: Evaluation): void {
  acc[0]! += e.expected;
  acc[1]! += e.lower + e.upper;
  acc[2]! += e.spread;
  acc[3]! += e.logP === -Infinity ? -1e6 : e.logP;
  acc[4]! += e.score;
  acc[5]! += e.observed > e.upper ? 1 : 0;
  acc[6]! += e.slot.length + e.severity.length + e.basis.length + e.seasonal.length;
  acc[7]! += e.observed > e.upper && e.score >= MIN_SCORE ? 1 : 0;
}

/** The detectors' default minimum score. */
const MIN_SCORE = 0.5;

let totalN = 0;
let totalMs = 0;
let judgeN = 0;
let judgeMs = 0;
for (const c of CASES) {
  const random = seededRandom(7);
  const values = new Float64Array(ENTITIES * WINDOWS);
  for (let w = 0; w < WINDOWS; w++) for (let e = 0; e < ENTITIES; e++) values[w * ENTITIES + e] = c.value(random, e, w);
  const baselines = Array.from({ length: ENTITIES }, () => new EntityBaseline(c.options));
  const population = c.population ? new PopulationBaseline() : undefined;
  const acc = [0, 0, 0, 0, 0, 0, 0, 0];
  const t0 = cpuMs();
  for (let w = 0; w < WINDOWS; w++) {
    const ws = T0 + w * c.step;
    for (let e = 0; e < ENTITIES; e++) {
      const b = baselines[e]!;
      const x = values[w * ENTITIES + e]!;
      checksum(acc, b.evaluate(x, ws, population));
      b.update(x, ws, population);
    }
  }
  const ms = cpuMs() - t0;
  const n = ENTITIES * WINDOWS;
  totalN += n;
  totalMs += ms;
  console.log(`evaluate+update  ${c.name.padEnd(48)} ${perCpuS(n, ms)}`);
  console.log(`  checksum ${acc.map((v) => v.toPrecision(12)).join(' ')}`);
  // the detectors' hot path: the decision only (judge), the full Evaluation only for windows that fire
  if (typeof (EntityBaseline.prototype as { judge?: unknown }).judge === 'function') {
    const fresh = Array.from({ length: ENTITIES }, () => new EntityBaseline(c.options));
    const pop = c.population ? new PopulationBaseline() : undefined;
    let fired = 0;
    let scores = 0;
    const j0 = cpuMs();
    for (let w = 0; w < WINDOWS; w++) {
      const ws = T0 + w * c.step;
      for (let e = 0; e < ENTITIES; e++) {
        const b = fresh[e]!;
        const x = values[w * ENTITIES + e]!;
        const ev = b.judge(x, ws, pop, MIN_SCORE);
        if (ev) {
          fired++;
          scores += ev.score;
        }
        b.update(x, ws, pop);
      }
    }
    const jms = cpuMs() - j0;
    judgeN += n;
    judgeMs += jms;
    console.log(`judge+update     ${c.name.padEnd(48)} ${perCpuS(n, jms)}`);
    console.log(`  fired ${fired} (evaluate: ${acc[7]}), score sum ${scores.toPrecision(12)}`);
  }
}
if (judgeN) console.log(`judge+update     all cases                                        ${perCpuS(judgeN, judgeMs)}`);
console.log(`evaluate+update  all cases                                        ${perCpuS(totalN, totalMs)}`);

// construction (a new entity builds several) and decoding (an idle entity woken from its packed state)
{
  const n = 200_000;
  let keep = 0;
  let t0 = cpuMs();
  for (let i = 0; i < n; i++) keep += new EntityBaseline(i & 1 ? COUNT : CONTINUOUS).windows;
  let ms = cpuMs() - t0;
  console.log(`new EntityBaseline(options)                                       ${perCpuS(n, ms)}`);
  const trainedCount = new EntityBaseline(COUNT);
  const trainedCont = new EntityBaseline(CONTINUOUS);
  for (let w = 0; w < 100; w++) {
    trainedCount.update(5 + (w % 7), T0 + w * HOUR);
    trainedCont.update(30 + (w % 5), T0 + w * HOUR);
  }
  const raws = [trainedCount.toBytes(), trainedCont.toBytes()];
  t0 = cpuMs();
  for (let i = 0; i < n; i++) keep += new EntityBaseline(i & 1 ? COUNT : CONTINUOUS, raws[(i & 1) ^ 1]).windows;
  ms = cpuMs() - t0;
  console.log(`new EntityBaseline(options, raw) (decode)                         ${perCpuS(n, ms)}`);
  if (keep < 0) console.log(keep);
}
