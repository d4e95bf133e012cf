import { SeriesDetector } from './series-detector.js';
import { seededRandom } from './test-random.js';

const FIVE_MIN = 300_000;
const T0 = Date.UTC(2024, 0, 1);
const PROBATION = 750;

/** Gaussian noise around `level` (Box–Muller on a seeded generator). */
function noisy(random: () => number, level: number, sd: number): number {
  const u = Math.max(random(), 1e-12);
  return level + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function run(values: number[], probation = PROBATION): number[] {
  const d = new SeriesDetector({ probation, restPeriod: 150 });
  return values.map((v, i) => d.next(v, T0 + i * FIVE_MIN));
}

/** A daily sine (288 steps a day) with a little noise: the kind of series NAB is made of. */
function daily(random: () => number, i: number): number {
  return noisy(random, 100 + 50 * Math.sin((2 * Math.PI * (i % 288)) / 288), 2);
}

describe(SeriesDetector.name, () => {
  it('reports nothing during the learning period', () => {
    const random = seededRandom(1);
    const scores = run(Array.from({ length: 1000 }, (_, i) => (i === 100 ? 1e6 : noisy(random, 50, 2))));
    expect(scores.slice(0, PROBATION).every((s) => s === 0)).toBe(true);
  });

  it.each([
    ['a spike', (i: number) => (i === 2000 ? 150 : 0)],
    ['a dip', (i: number) => (i === 2000 ? -150 : 0)],
    ['a level shift', (i: number) => (i >= 2000 ? 120 : 0)],
  ])('scores %s above everything before it, within a few steps of its start', (_name, anomaly: (i: number) => number) => {
    const random = seededRandom(2);
    const scores = run(
      Array.from({ length: 2400 }, (_, i) => {
        const v = daily(random, i);
        return v + anomaly(i);
      }),
    );
    const before = Math.max(...scores.slice(0, 2000));
    const first = scores.findIndex((s, i) => i >= 2000 && s > before);
    expect(first).toBeGreaterThanOrEqual(2000);
    expect(first).toBeLessThanOrEqual(2006);
    expect(Math.max(...scores.slice(2000, 2010))).toBeGreaterThan(before + 0.2);
  });

  it('scores the same values at the wrong time of day as anomalous', () => {
    const random = seededRandom(3);
    const perDay = 288;
    const values = Array.from({ length: perDay * 8 }, (_, i) => daily(random, i));
    // on day 7 the evening trough is replaced by a copy of the morning peak (values seen every day, wrong time)
    const start = perDay * 7 + 200;
    for (let i = start; i < start + 30; i++) values[i] = daily(random, i - 130);
    const scores = run(values, perDay * 2);
    const before = Math.max(...scores.slice(0, start));
    expect(Math.max(...scores.slice(start, start + 30))).toBeGreaterThan(before);
  });

  it('reports nothing during the rest period after a detection', () => {
    const random = seededRandom(4);
    const values = Array.from({ length: 2200 }, (_, i) => daily(random, i) + (i === 1500 || i === 1540 ? 200 : 0));
    const scores = run(values);
    expect(scores[1500]).toBeGreaterThan(0.9);
    expect(scores[1540]).toBe(0);
  });

  it('gives the same scores for the same series (deterministic)', () => {
    const values = Array.from({ length: 2000 }, (_, i) => daily(seededRandom(i), i));
    expect(run(values)).toEqual(run(values));
  });
});
