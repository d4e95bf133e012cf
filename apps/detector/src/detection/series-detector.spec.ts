import { SeriesDetector } from './series-detector.js';
import { seededRandom } from './test-random.js';

const FIVE_MIN = 300_000;
const T0 = Date.UTC(2024, 0, 1);

/** Gaussian noise around `level` (Box–Muller on a seeded generator). */
function noisy(random: () => number, level: number, sd: number): number {
  const u = Math.max(random(), 1e-12);
  return level + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function run(values: number[], probation = 300): number[] {
  const d = new SeriesDetector({ probation, restPeriod: 60 });
  return values.map((v, i) => d.next(v, T0 + i * FIVE_MIN));
}

function argmax(xs: number[]): number {
  return xs.reduce((best, x, i) => (x > (xs[best] as number) ? i : best), 0);
}

describe(SeriesDetector.name, () => {
  it('reports nothing during the learning period', () => {
    const random = seededRandom(1);
    const scores = run(Array.from({ length: 400 }, (_, i) => (i === 100 ? 1e6 : noisy(random, 50, 2))));
    expect(scores.slice(0, 300).every((s) => s === 0)).toBe(true);
  });

  it.each([
    ['a spike', (i: number) => (i === 1200 ? 90 : 0)],
    ['a level shift', (i: number) => (i >= 1200 ? 25 : 0)],
    ['a dip', (i: number) => (i === 1200 ? -60 : 0)],
  ])('scores %s highest of the series, right where it starts', (_name, anomaly) => {
    const random = seededRandom(2);
    const scores = run(Array.from({ length: 2000 }, (_, i) => noisy(random, 100, 3) + anomaly(i)));
    const at = argmax(scores);
    expect(at).toBeGreaterThanOrEqual(1200);
    expect(at).toBeLessThanOrEqual(1206);
    const elsewhere = Math.max(...scores.filter((_, i) => i < 1190));
    expect(scores[at]).toBeGreaterThan(elsewhere + 0.05);
  });

  it('scores a daily pattern as normal but the same values at the wrong time of day as anomalous', () => {
    const random = seededRandom(3);
    const perDay = 288;
    const daily = (i: number): number => 100 + 50 * Math.sin((2 * Math.PI * (i % perDay)) / perDay);
    const values = Array.from({ length: perDay * 8 }, (_, i) => noisy(random, daily(i), 2));
    // on day 7 the evening trough is replaced by a copy of the morning peak (values seen every day, wrong time)
    const start = perDay * 7 + 200;
    for (let i = start; i < start + 30; i++) values[i] = noisy(random, daily(i - 130), 2);
    const scores = run(values, perDay * 2);
    const at = argmax(scores);
    expect(at).toBeGreaterThanOrEqual(start);
    expect(at).toBeLessThan(start + 30);
  });

  it('damps repeated detections during the rest period', () => {
    const random = seededRandom(4);
    const values = Array.from({ length: 1500 }, (_, i) => noisy(random, 100, 3) + (i === 1000 || i === 1020 ? 90 : 0));
    const scores = run(values);
    expect(scores[1020]).toBeLessThan((scores[1000] as number) / 2);
  });
});
