import type { AccessEvent } from '@vigil/contracts';
import { parseRecord } from '../../../../apps/ingest/src/parsers/index.js';
import { expectedRequests, rateFactor } from './diurnal.js';
import { TrafficPlan, generateTraffic, resolveTrafficOptions } from './generator.js';
import { ATTACK_CLASSES, TRAFFIC_FORMATS, type AttackClass, type AttackLabel, type TrafficFormat } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function take<T>(it: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const x of it) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

describe('traffic generator', () => {
  describe('determinism', () => {
    it('produces the same records and labels for the same seed and options', () => {
      const opts = { seed: 1234, rps: 30, durationMs: 40 * MIN, format: 'kong' as const };
      const a = new TrafficPlan(opts);
      const b = new TrafficPlan(opts);
      expect(b.labels).toEqual(a.labels);
      expect(take(b.records(), 3_000).map((r) => r.raw)).toEqual(take(a.records(), 3_000).map((r) => r.raw));
      // Iterating a plan twice starts over.
      expect(take(a.records(), 500).map((r) => r.raw)).toEqual(take(b.records(), 500).map((r) => r.raw));
    });

    it('produces different traffic and attackers for a different seed', () => {
      const a = take(generateTraffic({ seed: 1, rps: 30 }), 200).map((r) => r.event.clientIp);
      const b = take(generateTraffic({ seed: 2, rps: 30 }), 200).map((r) => r.event.clientIp);
      expect(b).not.toEqual(a);
      const la = new TrafficPlan({ seed: 1 }).labels.map((l) => l.entity);
      const lb = new TrafficPlan({ seed: 2 }).labels.map((l) => l.entity);
      expect(lb).not.toEqual(la);
    });
  });

  describe('volume and shape', () => {
    it('makes rps normal requests per second on a flat curve (within 2%)', () => {
      let n = 0;
      for (const r of generateTraffic({ seed: 5, rps: 50, durationMs: 10 * MIN, attacks: 'none', diurnal: false })) if (!r.label) n++;
      expect(Math.abs(n - 30_000) / 30_000).toBeLessThan(0.02);
    });

    it('follows the diurnal curve: the total matches rps integrated over the curve, night far below afternoon', () => {
      const start = Date.UTC(2024, 4, 14, 0, 0, 0); // a Tuesday
      const perHour = new Array<number>(24).fill(0);
      let total = 0;
      for (const r of generateTraffic({ seed: 9, rps: 1, start, durationMs: 24 * HOUR, attacks: 'none', ipCount: 500, tokenCount: 50 })) {
        perHour[Math.floor((r.event.ts - start) / HOUR)]! += 1;
        total++;
      }
      const expected = expectedRequests(start, start + 24 * HOUR, 1);
      expect(Math.abs(total - expected) / expected).toBeLessThan(0.02);
      const night = (perHour[2]! + perHour[3]! + perHour[4]!) / 3;
      const afternoon = (perHour[13]! + perHour[14]! + perHour[15]!) / 3;
      expect(night).toBeLessThan(afternoon * 0.35);
      expect(night).toBeGreaterThan(0);
    });

    it('runs weekends below weekdays and averages 1 over a week', () => {
      const tuesday = Date.UTC(2024, 4, 14, 14, 0, 0);
      const saturday = Date.UTC(2024, 4, 18, 14, 0, 0);
      expect(rateFactor(saturday)).toBeLessThan(rateFactor(tuesday) * 0.7);
      const weekStart = Date.UTC(2024, 4, 13);
      expect(expectedRequests(weekStart, weekStart + 7 * 24 * HOUR, 1) / (7 * 24 * 3600)).toBeCloseTo(1, 2);
    });

    it('keeps records in event-time order and inside the run', () => {
      const plan = new TrafficPlan({ seed: 3, rps: 10, durationMs: 20 * MIN });
      let last = -Infinity;
      let n = 0;
      for (const r of plan.records()) {
        expect(r.event.ts).toBeGreaterThanOrEqual(last);
        last = r.event.ts;
        n++;
      }
      expect(last).toBeLessThan(plan.options.end);
      expect(n).toBeGreaterThan(12_000);
    });

    it('draws from thousands of IPs and hundreds of tokens over dozens of endpoints', () => {
      const ips = new Set<string>();
      const tokens = new Set<string>();
      const routes = new Set<string>();
      for (const r of generateTraffic({ seed: 4, rps: 200, durationMs: 10 * MIN, attacks: 'none' })) {
        ips.add(r.event.clientIp);
        if (r.event.tokenId) tokens.add(r.event.tokenId);
        routes.add(`${r.event.method} ${r.event.route}`);
      }
      expect(ips.size).toBeGreaterThan(2_000);
      expect(tokens.size).toBeGreaterThan(200);
      expect(routes.size).toBeGreaterThan(24);
    });
  });

  describe('options', () => {
    it.each([
      [{ rps: -1 }, /rps/],
      [{ durationMs: 10 }, /duration/],
      [{ attacks: ['bogus' as AttackClass] }, /unknown attack class bogus/],
      [{ format: 'xml' as TrafficFormat }, /format must be one of/],
      [{ tokenCount: 5000, ipCount: 100 }, /tokenCount/],
    ])('rejects %p with a message naming the option', (opts, message) => {
      expect(() => resolveTrafficOptions(opts)).toThrow(message);
    });
  });
});

describe('generated records through the real ingest parser', () => {
  const parse = (raw: string, now: number) => parseRecord(raw, { tenant: 'acme', now, trustedProxies: [], hashKey: 'spec-hash-key', routeSource: 'template', zodCheck: true });

  it.each(TRAFFIC_FORMATS)('%s records all parse (zod-checked) into AccessEvents that match the generated ground truth', (format) => {
    const plan = new TrafficPlan({ seed: 11, rps: 10, durationMs: 20 * MIN, format });
    const notCarried = format === 'nginx' ? new Set(['tls', 'country', 'asn', 'host', 'bytesIn']) : new Set<string>();
    const ids = new Set<string>();
    let n = 0;
    for (const r of plan.records()) {
      const p = parse(r.raw, plan.options.end);
      if (!p.ok) throw new Error(`${p.reason}: ${p.message} in ${r.raw}`);
      expect(p.event.format).toBe(format);
      const { id: _a, format: _f, ...got } = p.event;
      const { id: _b, format: _g, ...want } = r.event;
      for (const k of notCarried) {
        delete (got as Record<string, unknown>)[k];
        delete (want as Record<string, unknown>)[k];
      }
      expect(got).toEqual(want);
      ids.add(p.event.id);
      n++;
    }
    // Distinct requests never collapse into one stored event (ingest dedupes by id).
    expect(ids.size).toBe(n);
  });

  describe('every attack class, labelled and visible in the parsed events (kong)', () => {
    const plan = new TrafficPlan({ seed: 42, rps: 20, durationMs: 2 * HOUR, format: 'kong' });
    const byLabel = new Map<string, AccessEvent[]>();
    const normal: AccessEvent[] = [];
    const outsideTs: string[] = [];
    beforeAll(() => {
      for (const r of plan.records()) {
        const p = parse(r.raw, plan.options.end);
        if (!p.ok) throw new Error(`${p.reason}: ${p.message}`);
        if (r.label) {
          if (r.event.ts < r.label.start || r.event.ts >= r.label.end) outsideTs.push(r.label.id);
          const list = byLabel.get(r.label.id) ?? [];
          list.push(p.event);
          byLabel.set(r.label.id, list);
        } else normal.push(p.event);
      }
    });

    const labelsOf = (cls: AttackClass): AttackLabel[] => plan.labels.filter((l) => l.class === cls);
    const eventsOf = (l: AttackLabel): AccessEvent[] => byLabel.get(l.id) ?? [];
    const minutes = (l: AttackLabel) => (l.end - l.start) / MIN;
    const share = (es: AccessEvent[], f: (e: AccessEvent) => boolean) => es.filter(f).length / Math.max(1, es.length);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const ep = (e: AccessEvent) => `${e.method} ${e.route}`;
    const inside = (l: AttackLabel, e: AccessEvent) => e.ts >= l.start && e.ts < l.end;

    it('labels every class, each with traffic inside its interval and the detector to expect', () => {
      expect([...new Set(plan.labels.map((l) => l.class))].sort()).toEqual([...ATTACK_CLASSES].sort());
      for (const l of plan.labels) {
        expect(eventsOf(l).length).toBeGreaterThan(10);
        expect(l.expectedDetector).not.toBe('');
        expect(l.end).toBeGreaterThan(l.start);
      }
      expect(outsideTs).toEqual([]);
    });

    const checks: [AttackClass, (l: AttackLabel, es: AccessEvent[]) => void][] = [
      ['rate_spike', (l, es) => {
        const mine = es.filter((e) => (l.entityType === 'ip' ? e.clientIp : e.tokenId) === l.entity);
        expect(mine.length).toBe(es.length);
        expect(es.length / minutes(l)).toBeGreaterThan(900);
      }],
      ['brute_force', (l, es) => {
        expect(share(es, (e) => e.clientIp === l.entity && ep(e) === 'POST /v1/auth/login')).toBe(1);
        expect(share(es, (e) => e.status === 401 || e.status === 403)).toBeGreaterThan(0.9);
        expect(es.length / minutes(l)).toBeGreaterThan(300);
      }],
      ['credential_stuffing', (l, es) => {
        expect(share(es, (e) => ep(e) === l.entity)).toBe(1);
        const perIp = new Map<string, number>();
        for (const e of es) perIp.set(e.clientIp, (perIp.get(e.clientIp) ?? 0) + 1);
        expect(perIp.size).toBeGreaterThan(150);
        expect(Math.max(...perIp.values())).toBeLessThan(es.length * 0.02);
        expect(share(es, (e) => e.status === 401)).toBeGreaterThan(0.8);
        const normalLoginFailures = share(normal.filter((e) => ep(e) === l.entity), (e) => e.status === 401);
        expect(normalLoginFailures).toBeLessThan(0.1);
      }],
      ['enumeration', (l, es) => {
        expect(share(es, (e) => e.clientIp === l.entity)).toBe(1);
        expect(new Set(es.map((e) => e.path)).size).toBeGreaterThan(Math.min(200, es.length * 0.6));
        expect(share(es, (e) => e.status === 404)).toBeGreaterThan(0.5);
      }],
      ['token_theft', (l, es) => {
        const usual = new Set(normal.filter((e) => e.tokenId === l.entity).map((e) => e.country));
        expect(share(es, (e) => e.tokenId === l.entity && e.clientIp === l.details['ip'])).toBe(1);
        expect(usual.size).toBeGreaterThan(0);
        expect(usual.has(es[0]!.country)).toBe(false);
        expect(es[0]!.asn).toBe(l.details['asn']);
      }],
      ['token_sharing', (l, es) => {
        expect(share(es, (e) => e.tokenId === l.entity)).toBe(1);
        expect(new Set(es.map((e) => e.clientIp)).size).toBeGreaterThan(40);
      }],
      ['allowlist_violation', (l, es) => {
        const allow = (l.details['allowlist'] as string[]).map((c) => c.replace(/\.0\/24$/, '.'));
        expect(allow.length).toBeGreaterThan(0);
        expect(share(es, (e) => e.tokenId === l.entity && !allow.some((p) => e.clientIp.startsWith(p)))).toBe(1);
        const usual = normal.filter((e) => e.tokenId === l.entity);
        expect(usual.every((e) => allow.some((p) => e.clientIp.startsWith(p)))).toBe(true);
      }],
      ['scraping', (l, es) => {
        expect(share(es, (e) => e.clientIp === l.entity && ep(e) === 'GET /v1/instruments/:id')).toBe(1);
        expect(new Set(es.map((e) => e.path)).size).toBeGreaterThan(es.length * 0.9);
        const perSecond = es.length / ((l.end - l.start) / 1000);
        expect(perSecond).toBeGreaterThan(10);
        expect(perSecond).toBeLessThan(14);
      }],
      ['volumetric_flood', (l, es) => {
        expect(share(es, (e) => ep(e) === l.entity)).toBe(1);
        const normalRate = normal.filter((e) => ep(e) === l.entity && !inside(l, e)).length / ((plan.options.durationMs - (l.end - l.start)) / MIN);
        expect(es.length / minutes(l)).toBeGreaterThan(10 * normalRate);
        expect(new Set(es.map((e) => e.clientIp)).size).toBeGreaterThan(300);
      }],
      ['exfiltration', (l, es) => {
        expect(share(es, (e) => e.tokenId === l.entity)).toBe(1);
        const attackBytesPerMin = es.reduce((a, e) => a + e.bytesOut, 0) / minutes(l);
        const own = normal.filter((e) => e.tokenId === l.entity);
        const normalBytesPerMin = own.reduce((a, e) => a + e.bytesOut, 0) / (plan.options.durationMs / MIN);
        expect(attackBytesPerMin).toBeGreaterThan(50 * 1024 * 1024);
        expect(attackBytesPerMin).toBeGreaterThan(100 * normalBytesPerMin);
      }],
      ['error_rate', (l, es) => {
        expect(share(es, (e) => ep(e) === l.entity && e.status >= 500)).toBe(1);
        const during = [...es, ...normal.filter((e) => ep(e) === l.entity && inside(l, e))];
        const outside = normal.filter((e) => ep(e) === l.entity && !inside(l, e));
        expect(share(during, (e) => e.status >= 500)).toBeGreaterThan(0.3);
        expect(share(outside, (e) => e.status >= 500)).toBeLessThan(0.01);
      }],
      ['latency_degradation', (l, es) => {
        expect(share(es, (e) => ep(e) === l.entity)).toBe(1);
        const outside = normal.filter((e) => ep(e) === l.entity && !inside(l, e));
        expect(median(es.map((e) => e.latencyMs))).toBeGreaterThan(10 * median(outside.map((e) => e.latencyMs)));
      }],
      ['deprecated_version', (l, es) => {
        expect(share(es, (e) => e.tokenId === l.entity && e.apiVersion === 'v0' && e.path.startsWith('/v0/'))).toBe(1);
        expect(normal.some((e) => e.apiVersion === 'v0')).toBe(false);
      }],
      ['insecure_transport', (l, es) => {
        expect(share(es, (e) => e.tokenId === l.entity && ['', 'TLSv1.0', 'TLSv1.1'].includes(e.tls))).toBe(1);
        expect(new Set(es.map((e) => e.tls))).toEqual(new Set(['', 'TLSv1.0', 'TLSv1.1']));
        expect(share(normal, (e) => e.tls === 'TLSv1.3' || e.tls === 'TLSv1.2')).toBe(1);
      }],
      ['injection', (l, es) => {
        expect(share(es, (e) => e.clientIp === l.entity)).toBe(1);
        const text = (e: AccessEvent) => {
          const s = `${e.path}?${e.query}`;
          try {
            return decodeURIComponent(decodeURIComponent(s.replace(/\+/g, ' ')));
          } catch {
            return s;
          }
        };
        const kinds = {
          sqli: /union\s+(all\s+)?select|'\s*or\s*'1'\s*=\s*'1|sleep\(\d|drop\/\*\*\/table/i,
          xss: /<script|onerror=|javascript:|<svg|<iframe/i,
          traversal: /\.\.[/\\%]|etc\/passwd|win\.ini/i,
          cmdi: /;\s*cat\s|\|\s*whoami|`id`|\$\(wget|&&\s*curl/i,
        };
        for (const [kind, re] of Object.entries(kinds)) expect([kind, es.some((e) => re.test(text(e)))]).toEqual([kind, true]);
        expect(share(normal, (e) => Object.values(kinds).some((re) => re.test(text(e))))).toBe(0);
      }],
    ];

    it.each(checks)('%s traffic shows the attack in the parsed fields', (cls, check) => {
      const labels = labelsOf(cls);
      expect(labels.length).toBeGreaterThan(0);
      for (const l of labels) check(l, eventsOf(l));
    });
  });
});
