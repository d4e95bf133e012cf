import { medianAbsoluteDeviation } from 'simple-statistics';
import { DEFAULT_BASELINE_OPTIONS, EntityBaseline, PopulationBaseline, describeExpectation, type BaselineOptions } from './baseline.js';
import { logPFromScore, scoreFromLogP, severityFromScore } from './calibration.js';
import { countDistribution, countLogCdf, countLogSf, countLowerBound, countUpperBound } from './count-model.js';
import { alphaForHalfLife, ewmaStep, type EwmaMoments } from './ewma.js';
import { robustStats, robustStatsInto } from './robust.js';
import { seasonalSlot, slotLabel, slotLabelAt } from './seasonal.js';
import { poissonSample, seededRandom } from './test-random.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2024, 5, 3, 0, 0); // Monday 2024-06-03 00:00 UTC
const counts: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'count' };
const latency: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'continuous' };

function trained(options: BaselineOptions, windows: number, value: (i: number) => number, stepMs = MINUTE): EntityBaseline {
  const b = new EntityBaseline(options);
  for (let i = 0; i < windows; i++) b.update(value(i), T0 + i * stepMs);
  return b;
}

describe('EWMA', () => {
  it.each([
    [1, 0.5],
    [2, 1 - Math.SQRT1_2],
    [10, 1 - Math.pow(0.5, 0.1)],
  ])('half-life %p gives alpha %p', (h, a) => {
    expect(alphaForHalfLife(h)).toBeCloseTo(a, 12);
  });

  it('keeps a constant series at its value with zero variance', () => {
    let m: EwmaMoments = { mean: 0, variance: 0 };
    for (let n = 0; n < 50; n++) m = ewmaStep(m, 7, 0.1, n);
    expect(m).toEqual({ mean: 7, variance: 0 });
  });

  it('averages the first values evenly, then moves halfway to a new level in one half-life', () => {
    let m: EwmaMoments = { mean: 0, variance: 0 };
    [2, 4, 6].forEach((x, n) => (m = ewmaStep(m, x, 0.01, n)));
    expect(m.mean).toBeCloseTo(4, 12);
    const a = alphaForHalfLife(20);
    m = { mean: 0, variance: 0 };
    for (let n = 0; n < 2000; n++) m = ewmaStep(m, 10, a, n);
    for (let n = 2000; n < 2020; n++) m = ewmaStep(m, 20, a, n);
    expect(m.mean).toBeCloseTo(15, 6);
  });
});

describe(robustStats.name, () => {
  it.each([
    [[1, 2, 3, 4, 100], 3, 1],
    [[5, 5, 5, 5], 5, 0],
    [[1, 2, 3, 4], 2.5, 1],
    [[10, NaN, 20, NaN, 30], 20, 10],
  ])('median/MAD of %p is %p/%p and ignores empty slots', (values, median, mad) => {
    const r = robustStats(Float64Array.from(values));
    expect(r.median).toBe(median);
    expect(r.mad).toBe(mad);
    const ring = Float32Array.from([NaN, ...values, NaN]);
    expect(robustStatsInto(ring, 1, ring.length - 1, new Float64Array(ring.length), { count: 0, median: 0, mad: 0 })).toEqual(robustStats(ring.subarray(1, ring.length - 1)));
    const finite = values.filter((v) => !Number.isNaN(v));
    expect(r.mad).toBe(medianAbsoluteDeviation(finite));
  });
});

describe('seasonal slots', () => {
  it.each([
    [Date.UTC(1970, 0, 1), 0, 4, 'Thursday 00:00'],
    [Date.UTC(2024, 5, 4, 14, 30), 14, 2, 'Tuesday 14:00'],
    [Date.UTC(2024, 5, 9, 23, 59), 23, 0, 'Sunday 23:00'],
  ])('%p is hour %p of weekday %p (%p)', (t, hourOfDay, dayOfWeek, label) => {
    const slot = seasonalSlot(t);
    expect(slot).toEqual({ hourOfDay, dayOfWeek });
    expect(slotLabel(slot, 'hour-of-week')).toBe(label);
    expect(slotLabel(slot, 'none')).toBe('any time');
    expect(slotLabelAt(t, 'hour-of-week')).toBe(label);
    expect(slotLabelAt(t, 'hour-of-day')).toBe(label.split(' ')[1]);
    expect(slotLabelAt(t, 'none')).toBe('any time');
  });
});

describe('calibration', () => {
  it.each([
    [0, 0],
    [-3, 0.25],
    [-6, 0.5],
    [-12, 1],
    [-300, 1],
  ])('log10 p = %p scores %p', (log10p, score) => {
    expect(scoreFromLogP(log10p * Math.LN10)).toBeCloseTo(score, 12);
  });

  it('is monotone: a smaller p never scores lower, and the inverse round-trips', () => {
    let prev = -1;
    for (let lp = 0; lp >= -40; lp -= 0.25) {
      const s = scoreFromLogP(lp);
      expect(s).toBeGreaterThanOrEqual(prev);
      prev = s;
    }
    expect(scoreFromLogP(logPFromScore(0.37))).toBeCloseTo(0.37, 12);
  });

  it.each([
    [0.1, 'low'],
    [0.4, 'medium'],
    [0.65, 'high'],
    [0.8, 'critical'],
    [1, 'critical'],
  ])('score %p is %p', (score, severity) => {
    expect(severityFromScore(score)).toBe(severity);
  });
});

describe('count bounds', () => {
  it.each([
    [10, 10],
    [35, 35],
    [35, 200],
    [2, 50],
  ])('mean %p, variance %p: bounds hold the chosen tail probability', (mean, variance) => {
    const d = countDistribution(mean, variance);
    const upper = countUpperBound(d, Math.log(1e-3));
    const lower = countLowerBound(d, Math.log(1e-3));
    expect(lower).toBeLessThanOrEqual(mean);
    expect(upper).toBeGreaterThan(mean);
    // exact: the tail beyond the upper bound is within alpha, one step inside it is not
    expect(countLogSf(upper + 1, d)).toBeLessThanOrEqual(Math.log(1e-3));
    expect(countLogSf(upper, d)).toBeGreaterThan(Math.log(1e-3));
    if (lower > 0) {
      expect(countLogCdf(lower - 1, d)).toBeLessThanOrEqual(Math.log(1e-3));
      expect(countLogCdf(lower, d)).toBeGreaterThan(Math.log(1e-3));
    }
  });
});

describe(EntityBaseline.name, () => {
  describe('evaluate (counts)', () => {
    const random = seededRandom(1);
    const b = trained(counts, 120, () => poissonSample(random, 30));

    it.each([
      [30, 0, 0.2, 'low'],
      [45, 0.1, 0.5, undefined],
      [120, 0.8, 1, 'critical'],
      [500, 1, 1, 'critical'],
    ])('observed %p scores between %p and %p', (observed, min, max, severity) => {
      const e = b.evaluate(observed, T0 + 200 * MINUTE);
      expect(e.score).toBeGreaterThanOrEqual(min);
      expect(e.score).toBeLessThanOrEqual(max);
      if (severity) expect(e.severity).toBe(severity);
    });

    it('reports expected, spread and bounds a user can read', () => {
      const e = b.evaluate(31, T0 + 200 * MINUTE);
      expect(e.expected).toBeGreaterThan(27);
      expect(e.expected).toBeLessThan(33);
      expect(e.spread).toBeGreaterThan(4);
      expect(e.spread).toBeLessThan(8);
      expect(e.upper).toBeGreaterThan(40);
      expect(e.upper).toBeLessThan(60);
      expect(e.basis).toBe('entity');
      expect(describeExpectation(e)).toMatch(/^expected \d+(\.\d)? ± \d+(\.\d)? at any time$/);
    });

    it('does not let an attack become the baseline (updates are clipped)', () => {
      const attacked = EntityBaseline.fromState(b.toState(), counts);
      for (let i = 0; i < 20; i++) attacked.update(5000, T0 + (200 + i) * MINUTE);
      expect(attacked.evaluate(5000, T0 + 210 * MINUTE).severity).toBe('critical');
    });
  });

  describe('seasonal profile', () => {
    // business hours 09–17 UTC carry 100 requests per window, the rest 10; hourly windows for 3 weeks
    const busy = (t: number): boolean => {
      const h = new Date(t).getUTCHours();
      return h >= 9 && h < 17;
    };
    const random = seededRandom(2);
    const b = trained(counts, 21 * 24, (i) => poissonSample(random, busy(T0 + i * HOUR) ? 100 : 10), HOUR);
    const day22 = T0 + 21 * 24 * HOUR;

    it('expects the slot level and names the slot', () => {
      const at14 = b.evaluate(100, day22 + 14 * HOUR);
      expect(at14.seasonal).toBe('hour-of-week');
      expect(at14.slot).toBe('Monday 14:00');
      expect(at14.expected).toBeGreaterThan(80);
      expect(at14.expected).toBeLessThan(120);
      expect(at14.score).toBeLessThan(0.25);
    });

    it('flags business-hours traffic at 03:00', () => {
      const at3 = b.evaluate(100, day22 + 3 * HOUR);
      expect(at3.expected).toBeLessThan(20);
      expect(at3.severity).toBe('critical');
    });

    it('uses no seasonal profile before two days of history', () => {
      const young = trained(counts, 30, () => 10, HOUR);
      expect(young.evaluate(10, T0 + 31 * HOUR).seasonal).toBe('none');
      expect(young.evaluate(10, T0 + 31 * HOUR).slot).toBe('any time');
    });
  });

  describe('population cold start', () => {
    const random = seededRandom(3);
    const population = new PopulationBaseline();
    for (let ip = 0; ip < 400; ip++) {
      const mean = 0.5 + 3 * random();
      const b = new EntityBaseline(counts);
      for (let w = 0; w < 10; w++) b.update(poissonSample(random, mean), T0 + w * MINUTE, population);
    }

    it('flags a brand-new IP doing 500 logins a minute against the population', () => {
      const e = new EntityBaseline(counts).evaluate(500, T0, population);
      expect(e.basis).toBe('population');
      expect(e.severity).toBe('critical');
    });

    it('does not flag a brand-new IP with ordinary traffic', () => {
      const e = new EntityBaseline(counts).evaluate(4, T0, population);
      expect(e.score).toBeLessThan(0.25);
    });

    it('hands over to the entity as it builds history', () => {
      const heavy = new EntityBaseline(counts);
      for (let w = 0; w < 200; w++) heavy.update(poissonSample(random, 300), T0 + w * MINUTE);
      const e = heavy.evaluate(300, T0 + 300 * MINUTE, population);
      expect(e.basis).toBe('blended');
      expect(e.expected).toBeGreaterThan(270);
      expect(e.score).toBeLessThan(0.25);
    });
  });

  describe('continuous metrics (log-normal robust z)', () => {
    const random = seededRandom(4);
    const b = trained(latency, 60, () => 120 * Math.exp(0.1 * (random() - 0.5)));

    it('scores a tenfold latency as critical and a normal one as low', () => {
      expect(b.evaluate(1200, T0 + 100 * MINUTE).severity).toBe('critical');
      const ok = b.evaluate(121, T0 + 100 * MINUTE);
      expect(ok.score).toBeLessThan(0.1);
      expect(ok.expected).toBeGreaterThan(110);
      expect(ok.expected).toBeLessThan(130);
      expect(ok.lower).toBeLessThan(120);
      expect(ok.upper).toBeGreaterThan(120);
    });
  });

  describe('early firing', () => {
    const random = seededRandom(5);
    const b = trained(counts, 120, () => poissonSample(random, 30));

    it.each([
      [200, 0.1, true],
      [20, 0.1, false],
      [35, 0.9, false],
    ])('%p events after %p of the window: fire=%p', (partial, elapsed, fire) => {
      const d = b.evaluatePartial(partial, elapsed, T0 + 200 * MINUTE);
      expect(d.fire).toBe(fire);
      expect(d.evaluation.early).toBe(true);
      if (fire) expect(d.evaluation.severity).toBe('critical');
    });
  });

  describe('judge and upperBound (the detectors\' fast path)', () => {
    const cases: [string, BaselineOptions, number, (r: () => number, w: number) => number, boolean][] = [
      ['sparse counts', { ...counts, ringSize: 1 }, MINUTE, (r) => poissonSample(r, 1.5), false],
      ['overdispersed diurnal counts', { ...counts, ringSize: 1 }, HOUR, (r, w) => poissonSample(r, 20 * (1 + 0.8 * Math.sin((2 * Math.PI * (w % 24)) / 24))), false],
      ['counts with a population prior', counts, MINUTE, (r, w) => poissonSample(r, 1 + (w % 40)), true],
      ['latency', latency, MINUTE, (r) => 30 * Math.exp(0.3 * (r() - 0.5)), false],
      ['bytes with a population prior', latency, HOUR, (r, w) => 1e4 * (1.5 + Math.sin(w / 4)) * (0.8 + 0.4 * r()), true],
    ];

    it.each(cases)('%s: judge fires exactly when evaluate says observed > upper and score >= minScore', (_name, options, step, value, withPopulation) => {
      const random = seededRandom(11);
      const a = new EntityBaseline(options);
      const b = new EntityBaseline(options);
      const popA = withPopulation ? new PopulationBaseline() : undefined;
      const popB = withPopulation ? new PopulationBaseline() : undefined;
      let fired = 0;
      for (let w = 0; w < 600; w++) {
        const ws = T0 + w * step;
        // every 50th window an attack-sized value, so both outcomes occur
        const x = w % 50 === 49 ? 40 * value(random, w) + 30 : value(random, w);
        for (const minScore of [0, 0.5, 0.9]) {
          const ev = a.evaluate(x, ws, popA);
          const expected = x > ev.upper && ev.score >= minScore ? ev : null;
          expect([w, minScore, b.judge(x, ws, popB, minScore)]).toEqual([w, minScore, expected]);
          if (expected && minScore === 0.5) fired++;
        }
        expect(b.upperBound(ws, popB)).toBe(a.evaluate(x, ws, popA).upper);
        // judge after upperBound uses the memoized bound: still the same decision
        expect(b.judge(x, ws, popB, 0.5) !== null).toBe(x > a.evaluate(x, ws, popA).upper && a.evaluate(x, ws, popA).score >= 0.5);
        a.update(x, ws, popA);
        b.update(x, ws, popB);
      }
      expect(fired).toBeGreaterThanOrEqual(6);
      expect(Buffer.from(b.toBytes()).equals(Buffer.from(a.toBytes()))).toBe(true);
    });

    it('upperBound follows the baseline as it learns (the memo is dropped on update)', () => {
      const b = new EntityBaseline(counts);
      const ws = T0 + 10 * MINUTE;
      for (let w = 0; w < 10; w++) b.update(10, T0 + w * MINUTE);
      const before = b.upperBound(ws);
      for (let w = 10; w < 40; w++) b.update(100, T0 + w * MINUTE);
      expect(b.upperBound(ws)).toBeGreaterThan(before);
      expect(b.upperBound(ws)).toBe(b.evaluate(0, ws).upper);
    });

    it('evaluatePartial reports the full window\'s bounds and scores against the prorated expectation', () => {
      const random = seededRandom(12);
      const b = trained(counts, 120, () => poissonSample(random, 30));
      const ws = T0 + 200 * MINUTE;
      const full = b.evaluate(65, ws);
      const d = b.evaluatePartial(65, 0.5, ws);
      expect(d.fire).toBe(true);
      expect(d.evaluation.upper).toBe(full.upper);
      expect(d.evaluation.lower).toBe(full.lower);
      expect(d.evaluation.expected).toBeCloseTo(full.expected * 0.5, 9);
      expect(full.score).toBeLessThan(1);
      expect(d.evaluation.score).toBeGreaterThan(full.score);
    });
  });

  describe('state', () => {
    it.each([
      ['count', counts],
      ['continuous', latency],
    ] as const)('%s baseline round-trips exactly and stays under 500 bytes', (_kind, options) => {
      const random = seededRandom(6);
      const b = trained(options, 3 * 24 * 6, () => poissonSample(random, 40), 10 * MINUTE);
      const state = b.toState();
      expect(state.length).toBeLessThanOrEqual(500);
      const back = EntityBaseline.fromState(state, options);
      expect(back.toState()).toBe(state);
      expect(Buffer.from(back.toBytes()).equals(Buffer.from(b.toBytes()))).toBe(true);
      const t = T0 + 4 * 24 * HOUR;
      expect(back.evaluate(70, t)).toEqual(b.evaluate(70, t));
      back.update(41, t);
      b.update(41, t);
      expect(back.toState()).toBe(b.toState());
    });

    it('rejects a state of another layout', () => {
      const state = new EntityBaseline(counts).toBytes();
      expect(() => EntityBaseline.fromState(state, { ...counts, ringSize: 8 })).toThrow(/baseline state/);
    });
  });
});
