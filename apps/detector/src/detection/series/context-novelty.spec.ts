import { seededRandom } from '../test-random.js';
import { ContextNovelty, type ContextNoveltyOptions } from './context-novelty.js';

const FIVE_MIN = 300_000;
const T0 = Date.UTC(2024, 0, 1);
const WARMUP = 400;

/** A repeating saw-tooth 0, 10, 20, ..., 90 with a little noise that never crosses a bin. */
function saw(i: number, random: () => number): number {
  return (i % 10) * 10 + random() * 0.5;
}

function scores(values: number[], options: Partial<ContextNoveltyOptions> = {}): number[] {
  const d = new ContextNovelty({ warmup: WARMUP, levels: 16, resolutions: 4, maxOrder: 6, weighted: 1, ...options });
  return values.map((v, i) => d.next(v, T0 + i * FIVE_MIN));
}

function series(change: (i: number, normal: number) => number, length = 1000): number[] {
  const random = seededRandom(7);
  return Array.from({ length }, (_, i) => change(i, saw(i, random)));
}

describe(ContextNovelty.name, () => {
  it('scores 0 while it learns the range', () => {
    const s = scores(series((i, v) => (i === 100 ? 1e6 : v)));
    expect(s.slice(0, WARMUP).every((x) => x === 0)).toBe(true);
  });

  it('scores a pattern it has learned as not novel at all', () => {
    const s = scores(series((_, v) => v));
    expect(Math.max(...s.slice(WARMUP))).toBe(0);
  });

  it.each([
    ['a spike far above the learned range', (i: number, v: number) => (i === 700 ? 500 : v), 0.95],
    ['a dip far below the learned range', (i: number, v: number) => (i === 700 ? -400 : v), 0.95],
    ['a known value out of order (the saw-tooth jumps back early)', (i: number, v: number) => (i === 705 ? 0 : v), 0.9],
    ['a level that stays put (known value, unknown rhythm)', (i: number, v: number) => (i >= 700 ? 40 : v), 0.5],
  ])('scores %s as novel where it happens', (_name, change, atLeast) => {
    const s = scores(series(change));
    const at = s.findIndex((x) => x > 0);
    expect(at).toBeGreaterThanOrEqual(700);
    expect(at).toBeLessThanOrEqual(706);
    expect(Math.max(...s.slice(700, 710))).toBeGreaterThanOrEqual(atLeast);
  });

  it('scores a repeated novelty lower the second time', () => {
    const s = scores(series((i, v) => (i === 700 || i === 800 ? 500 : v)));
    expect(s[700]).toBeGreaterThan(0.95);
    expect(s[800]).toBeLessThan((s[700] as number) / 2);
  });

  it('scores a value at an unusual time of day as novel when time slots are on', () => {
    const perDay = 288;
    const random = seededRandom(3);
    // high by day (slots 8–20 h), low at night; on day 4 a daytime value at 02:00
    const values = Array.from({ length: perDay * 5 }, (_, i) => {
      const hour = ((i % perDay) / perDay) * 24;
      return (hour >= 8 && hour < 20 ? 100 : 10) + random();
    });
    const odd = perDay * 4 + 24;
    values[odd] = 100.5;
    const withTime = scores(values, { warmup: perDay * 2, timeSlots: 24, maxOrder: 0 });
    const without = scores(values, { warmup: perDay * 2, timeSlots: 0, maxOrder: 0 });
    expect(withTime[odd]).toBeGreaterThan(0.3);
    expect(without[odd]).toBe(0);
  });

  it('is deterministic: the same input gives the same scores', () => {
    const random = seededRandom(11);
    const values = Array.from({ length: 1500 }, () => random() * 100);
    expect(scores(values)).toEqual(scores(values));
  });
});
