import { ATTACK_SPAN_MS, DemoPacer, WARMUP_SPEEDUP, demoPlan } from './demo.js';
import { nginxTime, startBanner } from './banner.js';

const MIN = 60_000;

describe('vigil demo', () => {
  it('replays event time ending now, with every attack inside the last 25 minutes', () => {
    const now = Date.UTC(2024, 4, 14, 12, 0, 0);
    const plan = demoPlan({ minutes: 45, rps: 5, seed: 1, format: 'kong' }, 'demo', now);
    expect(plan.options.end).toBe(now);
    expect(plan.labels.length).toBeGreaterThan(0);
    for (const l of plan.labels) {
      expect(l.start).toBeGreaterThanOrEqual(now - ATTACK_SPAN_MS);
      expect(l.end).toBeLessThanOrEqual(now);
    }
  });

  describe(DemoPacer.name, () => {
    it('plays the warm-up faster, then the attacks at the chosen speed', () => {
      const start = 0;
      const p = new DemoPacer(start, 20 * MIN, 60);
      expect(p.waitMs(start, 1000)).toBe(0);
      // 10 minutes of warm-up at 60 × WARMUP_SPEEDUP
      expect(p.waitMs(10 * MIN, 1000)).toBeCloseTo((10 * MIN) / (60 * WARMUP_SPEEDUP), 6);
      const warmupWall = (20 * MIN) / (60 * WARMUP_SPEEDUP);
      // one minute after the warm-up, at 60x: one second of wall time after the warm-up's end
      expect(p.waitMs(21 * MIN, 1000)).toBeCloseTo(warmupWall + 1000, 6);
    });

    it('re-anchors instead of bursting when the server fell behind', () => {
      const p = new DemoPacer(0, 0, 60);
      expect(p.waitMs(1000, 0)).toBeCloseTo(1000 / 60, 6); // attack phase from wall 0
      expect(p.waitMs(MIN, 5000)).toBe(0); // due at 1000, now 5000: behind, re-anchor here
      expect(p.waitMs(2 * MIN, 5000)).toBeCloseTo(1000, 6); // then one more minute = one second
    });
  });
});

describe(startBanner.name, () => {
  const base = { url: 'http://localhost:8080', dataDir: '/srv/vigil/.data', mode: 'standalone' as const, now: Date.UTC(2024, 4, 14, 8, 0, 0) };

  it('shows the dashboard, the new admin key, a curl with that key and how to connect a gateway', () => {
    const text = startBanner({ ...base, adminKey: 'vgl_abc_secret' });
    expect(text).toContain('Dashboard   http://localhost:8080/dashboard/');
    expect(text).toContain('Admin key   vgl_abc_secret');
    expect(text).toContain('-H "Authorization: Bearer vgl_abc_secret"');
    expect(text).toContain('[14/May/2024:08:00:00 +0000]');
    expect(text).toContain('docs/integrations/README.md');
  });

  it('does not pretend to know the key on later runs', () => {
    const text = startBanner({ ...base, adminKey: null });
    expect(text).not.toContain('vgl_');
    expect(text).toContain('Bearer $VIGIL_KEY');
  });

  it('formats nginx times in UTC', () => {
    expect(nginxTime(Date.UTC(2024, 0, 5, 3, 4, 5))).toBe('05/Jan/2024:03:04:05 +0000');
  });
});
