import { describe, expect, it } from '@jest/globals';
import type { AccessEvent, Anomaly, DetectorFeedback } from '@vigil/contracts';
import { DEFAULT_DETECTORS_CONFIG } from '../detectors/detector-config.js';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/checkpoint-codec.js';
import { DetectionEngine } from '../engine/detection-engine.js';
import type { PartitionState } from '../engine/partition-state.js';

const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);
const ATTACKER = '198.51.100.66';
const OTHER = '198.51.100.67';
const HOLD = 5 * W;
const SUPPRESS = 20 * W;

let seq = 0;
function ev(o: Partial<AccessEvent>): AccessEvent {
  seq += 1;
  return {
    v: 1, id: `e${seq}`, tenant: 'acme', ts: T0, format: 'kong', clientIp: '203.0.113.1', method: 'GET', path: '/v1/orders/1', query: '',
    route: '/v1/orders/:id', status: 200, latencyMs: 30, bytesIn: 100, bytesOut: 2_000, userAgent: 'app/1.0', apiVersion: 'v1', tls: 'TLSv1.3',
    tokenId: '', country: 'DE', asn: 3320, requestId: '', host: 'api.acme.example', ...o,
  };
}

const normal = (m: number): AccessEvent[] =>
  Array.from({ length: 10 }, (_, u) => Array.from({ length: 6 }, (_, i) => ev({ ts: T0 + m * W + u * 1_000 + i * 9_000, clientIp: `203.0.113.${u + 1}`, path: `/v1/orders/${(u + i) % 9}` }))).flat();
const quiet = (ip: string, m: number): AccessEvent[] => [0, 1, 2].map((i) => ev({ ts: T0 + m * W + 4_000 + i * 15_000, clientIp: ip }));
const burst = (ip: string, m: number): AccessEvent[] =>
  Array.from({ length: 120 }, (_, i) => ev({ ts: T0 + m * W + 1_000 + i * 400, clientIp: ip, method: 'POST', path: '/v1/login', route: '/v1/login', status: 401 }));

class Run {
  readonly engine = new DetectionEngine({ windowMs: W, latenessMs: 5_000, maxEntities: 10_000, idleTtlMs: 86_400_000, detectors: DEFAULT_DETECTORS_CONFIG, feedback: { holdMs: HOLD, suppressionMs: SUPPRESS } });
  state: PartitionState = this.engine.newPartition('access', 0);
  readonly anomalies: Anomaly[] = [];
  private offset = 0;

  minute(m: number, extra: AccessEvent[] = []): void {
    const events = [...normal(m), ...extra].sort((a, b) => a.ts - b.ts);
    const r = this.engine.processAccessEvents(this.state, events.map((event) => ({ offset: String(this.offset++), event })));
    this.anomalies.push(...r.anomalies);
  }

  bruteForce(ip: string): Anomaly[] {
    return this.anomalies.filter((a) => a.detector === 'brute-force' && a.entity === ip);
  }

  falsePositive(a: Anomaly, at: number): void {
    const f: DetectorFeedback = { v: 1, anomalyId: a.id, tenant: a.tenant, entityType: a.entityType, entity: a.entity, detector: a.detector, windowStart: a.windowStart, verdict: 'false_positive', at, actor: 'key:ops' };
    this.engine.applyFeedback(f);
  }

  /** What the attacker's auth-failure baseline expects in minute m (0 when it learned only quiet windows). */
  expectedFailures(ip: string, m: number): number {
    return this.engine.inspect(this.state, 'acme', 'ip', ip, 'auth_failures', T0 + m * W)?.expected ?? 0;
  }

  /** The incident's verdict: every anomaly of the burst window (brute force and rate spike) is a false positive. */
  markBurstWindow(ip: string, m: number, at: number): void {
    for (const a of this.anomalies.filter((x) => x.entity === ip && x.windowStart === T0 + m * W)) this.falsePositive(a, at);
  }
}

/** 20 quiet minutes for everyone (the attacker included), then a burst in minute 20. */
function trainedWithBurst(): Run {
  const r = new Run();
  for (let m = 0; m < 20; m++) r.minute(m, quiet(ATTACKER, m));
  r.minute(20, burst(ATTACKER, 20));
  expect(r.bruteForce(ATTACKER)).toHaveLength(1);
  return r;
}

describe('false-positive feedback', () => {
  describe('baseline', () => {
    it('without feedback, learns the burst window once its hold period has passed (control)', () => {
      const r = trainedWithBurst();
      r.minute(21, quiet(ATTACKER, 21));
      r.minute(22, quiet(ATTACKER, 22));
      expect(r.expectedFailures(ATTACKER, 23)).toBe(0); // closed, but held back
      for (let m = 23; m < 29; m++) r.minute(m, quiet(ATTACKER, m));
      expect(r.expectedFailures(ATTACKER, 29)).toBeGreaterThan(0.5);
    });

    it('leaves the flagged window out when the verdict arrives while the window is still open', () => {
      const r = trainedWithBurst();
      r.markBurstWindow(ATTACKER, 20, T0 + 20 * W + 50_000);
      for (let m = 21; m < 29; m++) r.minute(m, quiet(ATTACKER, m));
      expect(r.expectedFailures(ATTACKER, 29)).toBe(0);
      expect(r.engine.updatesDropped).toBe(2); // auth failures (brute force) and requests (rate spike)
      expect(r.engine.inspect(r.state, 'acme', 'ip', ATTACKER, 'requests', T0 + 29 * W)?.windows).toBe(27); // windows 0–27 closed, minus the flagged one
      // a metric no detector judged wrong in that window was learned as usual
      expect(r.engine.inspect(r.state, 'acme', 'ip', ATTACKER, 'distinct_paths', T0 + 29 * W)?.windows).toBe(28);
    });

    it('drops the held update when the verdict arrives after the window closed, within the hold period', () => {
      const r = trainedWithBurst();
      r.minute(21, quiet(ATTACKER, 21));
      r.minute(22, quiet(ATTACKER, 22));
      r.markBurstWindow(ATTACKER, 20, T0 + 23 * W);
      for (let m = 23; m < 29; m++) r.minute(m, quiet(ATTACKER, m));
      expect(r.expectedFailures(ATTACKER, 29)).toBe(0);
      expect(r.engine.updatesDropped).toBe(2);
      expect(r.state.pending).toEqual([]);
    });

    it('keeps held updates and verdicts across a checkpoint', () => {
      const r = trainedWithBurst();
      r.minute(21, quiet(ATTACKER, 21));
      r.minute(22, quiet(ATTACKER, 22));
      r.markBurstWindow(ATTACKER, 20, T0 + 23 * W);
      const { bytes } = encodeCheckpoint(r.engine, r.state);
      const fresh = new Run();
      const restored = decodeCheckpoint(fresh.engine, bytes).state;
      expect(restored.pending.map((u) => [u.key, u.metric])).toEqual([
        [`acme|ip|${ATTACKER}`, 'requests'],
        [`acme|ip|${ATTACKER}`, 'auth_failures'],
      ]);
      fresh.state = restored;
      for (let m = 23; m < 29; m++) fresh.minute(m, quiet(ATTACKER, m));
      expect(fresh.expectedFailures(ATTACKER, 29)).toBe(0);
      expect(fresh.engine.updatesDropped).toBe(2);
      fresh.minute(29, burst(ATTACKER, 29));
      expect(fresh.bruteForce(ATTACKER)).toEqual([]); // the restored suppression holds
    });
  });

  describe('suppression', () => {
    it('keeps the detector quiet for that entity until the suppression expires, and only for that entity', () => {
      const r = trainedWithBurst();
      r.falsePositive(r.bruteForce(ATTACKER)[0]!, T0 + 21 * W);
      for (let m = 21; m < 25; m++) r.minute(m, quiet(ATTACKER, m));
      r.minute(25, [...burst(ATTACKER, 25), ...burst(OTHER, 25)]);
      r.minute(26, quiet(ATTACKER, 26));
      expect(r.bruteForce(ATTACKER).map((a) => a.windowStart)).toEqual([T0 + 20 * W]);
      expect(r.bruteForce(OTHER)).toHaveLength(1);
      expect(r.engine.suppressedFindings).toBeGreaterThan(0);
      // suppressed until at (minute 21) + 20 minutes: a burst in minute 45 fires again
      for (let m = 27; m < 45; m++) r.minute(m, quiet(ATTACKER, m));
      r.minute(45, burst(ATTACKER, 45));
      expect(r.bruteForce(ATTACKER).map((a) => a.windowStart)).toEqual([T0 + 20 * W, T0 + 45 * W]);
    });
  });
});
