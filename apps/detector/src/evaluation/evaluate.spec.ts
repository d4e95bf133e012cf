import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Anomaly } from '@vigil/contracts';
import { ATTACK_CLASSES, TrafficPlan, type AttackClass, type TrafficOptions } from '@vigil/testing';
import { readFileSync } from 'node:fs';
import { parseDetectorsConfig, type DetectorsConfig } from '../detectors/detector-config.js';
import { detectorsForTraffic, evaluateDetector, type EvalRecord, type EvaluationReport } from './evaluate.js';

const HOUR = 3_600_000;
const WINDOW = 60_000;

/** The shipped detector config, as the service loads it (jest runs from the repository root). */
const shipped = (): DetectorsConfig => parseDetectorsConfig(readFileSync('config/detectors.yaml', 'utf8'), 'config/detectors.yaml');

function run(options: TrafficOptions, tune: (cfg: DetectorsConfig) => void = () => {}, strip = false): EvaluationReport {
  const plan = new TrafficPlan(options);
  const detectors = detectorsForTraffic(shipped(), plan.labelsFile());
  tune(detectors);
  const records: Iterable<EvalRecord> = strip ? (function* () { for (const r of plan.records()) yield { event: r.event }; })() : plan.records();
  return evaluateDetector(records, strip ? [] : plan.labels, { detectors, windowMs: WINDOW, warmupEnd: plan.options.start + plan.options.warmupMs });
}

const describeAnomaly = (a: Anomaly): string => `${new Date(a.windowStart).toISOString()} ${a.detector} ${a.entityType} ${a.entity}: ${a.explanation}`;

describe(evaluateDetector.name, () => {
  /**
   * A Monday morning of a small exchange API: 1 000 client IPs and 100 tokens at 8 requests/s on the diurnal curve;
   * two attack-free hours to learn the baselines, then all 16 attacks (every class, rate_spike twice), about three
   * minutes each, one after the other in the following hour of the working day (the error-rate and latency
   * degradations need traffic to degrade).
   */
  const scenario: TrafficOptions = {
    seed: 7, start: Date.UTC(2024, 4, 13, 6, 0, 0), durationMs: 3 * HOUR, warmupMs: 2 * HOUR, rps: 8, ipCount: 1_000, tokenCount: 100,
  };
  let report: EvaluationReport;

  beforeAll(() => {
    report = run(scenario);
  }, 300_000);

  it('runs a scenario of realistic size with every attack class injected', () => {
    // seed 7: 90 483 events, 27 582 normal ones in the attack hour
    expect(report.events.total).toBeGreaterThan(85_000);
    expect(report.events.evaluatedNormal).toBeGreaterThan(25_000);
    expect(Object.keys(report.classes).sort()).toEqual([...ATTACK_CLASSES].sort());
    for (const a of report.attacks) expect(a.events).toBeGreaterThan(0);
  });

  it.each(ATTACK_CLASSES.map((c) => [c]))('detects %s with its own detector within one window of the attack start', (cls: AttackClass) => {
    const attacks = report.attacks.filter((a) => a.label.class === cls);
    expect(attacks.map((a) => ({ id: a.label.id, inTime: a.inTime }))).toEqual(attacks.map((a) => ({ id: a.label.id, inTime: true })));
    for (const a of attacks) {
      expect(a.match?.detector).toBe(a.label.expectedDetector);
      expect(a.match!.windowStart).toBeLessThanOrEqual(a.label.start + WINDOW);
      // latency in event time from the attack's first request: at most the rest of its window and one more
      expect(a.latencyMs).toBeGreaterThanOrEqual(0);
      expect(a.latencyMs!).toBeLessThanOrEqual(2 * WINDOW);
    }
  });

  it('raises no false anomaly on normal traffic (fewer than 100k normal events, so the target is zero), warm-up included', () => {
    expect(report.events.normal).toBeLessThan(100_000);
    expect(report.falseAnomalies.map(describeAnomaly)).toEqual([]);
    expect(report.falsePer100k).toBe(0);
    // the learning period too: the cold start is guarded by minHistory and the population prior
    expect(report.warmupAnomalies.map(describeAnomaly)).toEqual([]);
  });

  describe('can fail', () => {
    /** One brute force after an hour of learning, at the same rate: small and quick. */
    const small: TrafficOptions = {
      seed: 11, start: Date.UTC(2024, 4, 13, 8, 0, 0), durationMs: 70 * 60_000, warmupMs: HOUR, rps: 3, ipCount: 300, tokenCount: 30, attacks: ['brute_force'],
    };

    it('reports the class missed when its detector is switched off', () => {
      const on = run(small);
      expect(on.classes.brute_force).toMatchObject({ attacks: 1, inTime: 1, recall: 1 });
      const off = run(small, (cfg) => {
        cfg.bruteForce.enabled = false;
      });
      expect(off.classes.brute_force).toMatchObject({ attacks: 1, detected: 0, inTime: 0, recall: 0 });
      expect(off.attacks[0]!.latencyMs).toBeNull();
    });

    it('counts the anomalies of an attack nobody labelled as false', () => {
      const r = run(small, undefined, true);
      expect(r.falseAnomalies.map((a) => a.detector)).toContain('brute-force');
      expect(r.falsePer100k).toBeGreaterThan(0);
    });
  });
});
