import { describe, expect, it } from '@jest/globals';
import { EntityBaseline } from '../detection/baseline.js';
import { EntityState, learnLocations } from '../engine/entity-state.js';
import { ENTITY_METRICS, METRICS, type MetricName } from '../engine/metrics-catalog.js';
import { compactBaseline, expandBaseline, maxCompactBaselineBytes } from './baseline-codec.js';

const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);

function trained(metric: MetricName, windows: number, stepMs: number, value: (w: number) => number): EntityBaseline {
  const b = new EntityBaseline(METRICS[metric].options);
  for (let w = 0; w < windows; w++) b.update(value(w), T0 + w * stepMs);
  return b;
}

function roundTrip(b: EntityBaseline, metric: MetricName, first: number, last: number): { raw: Uint8Array; back: Uint8Array; compact: number } {
  const raw = b.toBytes();
  const out = new Uint8Array(maxCompactBaselineBytes(METRICS[metric].options) + 3);
  const end = compactBaseline(raw, METRICS[metric].options, first, last, out, 3);
  const { raw: back, next } = expandBaseline(out, 3, METRICS[metric].options, first, last);
  expect(next).toBe(end);
  return { raw, back, compact: end - 3 };
}

describe('baseline codec (idle entity compaction)', () => {
  const cases: [string, MetricName, number, number, (w: number) => number][] = [
    ['fresh count baseline', 'requests', 0, W, () => 0],
    ['one window', 'requests', 1, W, () => 7],
    ['constant count (no information beyond its value)', 'distinct_ips', 400, 3_600_000, () => 1],
    ['varying count over 15 days (every seasonal slot)', 'requests', 360, 3_600_000, (w) => 10 + ((w * 7919) % 23)],
    ['continuous, ring partly filled', 'bytes_out', 5, W, (w) => 1000 * (w + 1)],
    ['continuous over 15 days', 'latency_p95', 360, 3_600_000, (w) => 20 + ((w * 31) % 17) / 3],
    ['negative zero and huge values', 'requests', 3, W, (w) => (w === 0 ? -0 : 1e300)],
  ];

  it.each(cases)('%s: expands to the same bytes, byte for byte', (_name, metric, windows, step, value) => {
    const b = trained(metric, windows, step, value);
    const first = T0;
    const last = T0 + Math.max(0, windows - 1) * step;
    const { raw, back } = roundTrip(b, metric, first, last);
    expect(Buffer.from(back).equals(Buffer.from(raw))).toBe(true);
  });

  it('is exact when the baseline first/last differ from the entity (a dropped or late update)', () => {
    const b = trained('requests', 20, W, (w) => w % 5);
    const { raw, back } = roundTrip(b, 'requests', T0 - W, T0 + 40 * W);
    expect(Buffer.from(back).equals(Buffer.from(raw))).toBe(true);
  });

  it('keeps a constant metric in a few bytes, a young one well under its raw size', () => {
    expect(roundTrip(trained('distinct_ips', 400, 3_600_000, () => 1), 'distinct_ips', T0, T0 + 399 * 3_600_000).compact).toBeLessThanOrEqual(24);
    const young = trained('requests', 50, W, (w) => 5 + (w % 7));
    expect(roundTrip(young, 'requests', T0, T0 + 49 * W).compact).toBeLessThan(60);
    expect(young.toBytes().byteLength).toBe(185);
  });

  it('packs a mature entity with every seasonal slot learned in 2 bytes per slot, still byte for byte', () => {
    const s = new EntityState('ip', T0);
    for (let w = 0; w < 360; w++) {
      for (const m of ENTITY_METRICS.ip) s.baseline(m).update(10 + ((w * 7919) % 23), T0 + w * 3_600_000);
      s.activeWindows += 1;
      s.lastSeen = T0 + w * 3_600_000;
    }
    const packed = s.encode();
    expect(packed.byteLength).toBeLessThanOrEqual(320); // 3 baselines × 31 learned slots: ≈ 510 bytes at 4 bytes a slot
    const back = EntityState.decode('ip', packed);
    for (const m of ENTITY_METRICS.ip) expect(Buffer.from(back.peek(m)!.toBytes()).equals(Buffer.from(s.peek(m)!.toBytes()))).toBe(true);
  });

  it('an entity state survives encode → decode → encode unchanged, and its baselines evaluate the same', () => {
    const s = new EntityState('token', T0);
    learnLocations(s.known!, ['203.0.113.7', '198.51.100.23'], [3320], ['DE', 'FR']);
    for (let w = 0; w < 200; w++) {
      for (const m of ENTITY_METRICS.token) s.baseline(m).update(m === 'bytes_out' ? 5_000 + ((w * 37) % 900) : 3 + (w % 4), T0 + w * 3_600_000);
      s.activeWindows += 1;
      s.lastSeen = T0 + w * 3_600_000;
    }
    const bytes = s.encode();
    const padded = new Uint8Array(bytes.byteLength + 13);
    padded.set(bytes);
    const back = EntityState.decode('token', padded);
    expect(Buffer.from(back.encode()).equals(Buffer.from(bytes))).toBe(true);
    expect(back.known).toEqual(s.known);
    const at = T0 + 201 * 3_600_000;
    for (const m of ENTITY_METRICS.token) expect(back.peek(m)!.evaluate(9, at)).toEqual(s.peek(m)!.evaluate(9, at));
  });
});
