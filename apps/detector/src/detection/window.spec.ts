import { describe, expect, it } from '@jest/globals';
import { BoundedDistinct, EventHashes, LatencySketch, TopSet, TRACK_ALL, TRACK_NO_ROUTE_TOPS, TRACK_TOPS, Watermark, WindowAggregate, windowStartOf, type WindowAggJson, type WindowEvent } from './window.js';

const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 14, 0, 0);
let n = 0;
function ev(o: Partial<WindowEvent> = {}): WindowEvent {
  n += 1;
  return { id: `e${n}`, ts: T0 + 1000, clientIp: '203.0.113.7', method: 'GET', path: '/v1/orders/1', route: '/v1/orders/:id', status: 200, latencyMs: 20, bytesOut: 100, tokenId: '', country: 'DE', asn: 3320, ...o };
}

describe(WindowAggregate.name, () => {
  it.each([
    ['401 and 403 count as auth failures', [401, 403, 200], { authFailures: 2, notFound: 0, tooMany: 0, errors5xx: 0 }],
    ['404 and 429 are counted apart', [404, 404, 429, 200], { authFailures: 0, notFound: 2, tooMany: 1, errors5xx: 0 }],
    ['every 5xx is an error', [500, 502, 503, 504, 499], { authFailures: 0, notFound: 0, tooMany: 0, errors5xx: 4 }],
  ])('%s', (_, statuses, expected) => {
    const w = new WindowAggregate(T0, W);
    statuses.forEach((status) => w.add(ev({ status })));
    expect({ authFailures: w.authFailures, notFound: w.notFound, tooMany: w.tooMany, errors5xx: w.errors5xx }).toEqual(expected);
    expect(w.requests).toBe(statuses.length);
  });

  it('starts empty after a reset, so a pooled aggregate carries nothing into its next window', () => {
    const w = new WindowAggregate(T0, W);
    for (let i = 0; i < 100; i++) w.add(ev({ status: 401, path: `/p/${i}`, clientIp: `10.0.0.${i}`, id: `old${i}`, latencyMs: 900 }));
    w.reset(T0 + W, W, w.tracks);
    w.add(ev({ ts: T0 + W + 10, path: '/v1/me', id: 'new1', latencyMs: 20 }));
    expect({ requests: w.requests, authFailures: w.authFailures, paths: w.distinctCount('paths'), ips: w.distinctCount('ips'), failIps: w.distinctCount('failIps') }).toEqual({ requests: 1, authFailures: 0, paths: 1, ips: 1, failIps: 0 });
    expect(w.distinctSet('ips')?.values()).toEqual(['203.0.113.7']);
    expect(w.top('paths', 5)).toEqual([{ value: '/v1/me', count: 1 }]);
    expect(w.samples).toEqual(['new1']);
    expect(w.latencyP95()).toBeLessThan(25);
    expect(w.windowStart).toBe(T0 + W);
  });

  it.each([
    {
      field: 'paths' as const,
      // '/p/479599' and '/p/662382' share a hash32: a distinct set counts them once, the top paths keep them apart
      streams: [
        ['/a', '/b', '/a'],
        Array.from({ length: 19 }, (_, i) => `/p/${i}`),
        Array.from({ length: 20 }, (_, i) => `/p/${i}`),
        Array.from({ length: 90 }, (_, i) => `/p/${(i * 7) % 45}`),
        Array.from({ length: 200 }, (_, i) => `/q/${i}`),
        ['/x', '/p/479599', '/y', '/p/662382', '/p/479599', '/z'],
      ],
      trackSets: [TRACK_ALL, TRACK_TOPS | 1],
      ref: () => new BoundedDistinct(64, false),
      event: (path: string) => ev({ path }),
      late: '/late/one',
    },
    {
      field: 'ips' as const,
      // '10.0.107.237' and '10.2.219.40' share a hash32: a distinct set keeps the first of them, the top IPs both
      streams: [
        ['10.0.0.1', '10.0.0.1', '10.0.0.2'],
        Array.from({ length: 19 }, (_, i) => `10.1.0.${i}`),
        Array.from({ length: 20 }, (_, i) => `10.1.0.${i}`),
        Array.from({ length: 90 }, (_, i) => `10.1.0.${(i * 7) % 45}`),
        Array.from({ length: 200 }, (_, i) => `10.2.0.${i}`),
        ['10.9.9.9', '10.0.107.237', '10.8.8.8', '10.2.219.40', '10.0.107.237', '10.7.7.7'],
      ],
      trackSets: [TRACK_ALL, TRACK_TOPS | 2, TRACK_TOPS | 2 | TRACK_NO_ROUTE_TOPS],
      ref: () => new BoundedDistinct(),
      event: (clientIp: string) => ev({ clientIp }),
      late: '192.0.2.99',
    },
  ])('counts distinct $field read off the top $field exactly as a distinct set would (wire form, values and hashes in first-seen order): past k keys, on a hash collision, through JSON, merges and resets', ({ field, streams, trackSets, ref: newRef, event, late }) => {
    const pooled = new WindowAggregate(T0, W);
    for (const values of streams) {
      for (const tracks of trackSets) {
        const ref = newRef();
        const w = new WindowAggregate(T0, W, tracks);
        pooled.reset(T0, W, tracks);
        const half = new WindowAggregate(T0, W, tracks);
        const rest = new WindowAggregate(T0, W, tracks);
        values.forEach((v, i) => {
          const e = event(v);
          w.add(e);
          pooled.add(e);
          (i % 2 ? rest : half).add(e);
          ref.add(v);
          expect(w.distinctCount(field)).toBe(ref.size);
        });
        expect(pooled.distinctCount(field)).toBe(ref.size);
        // the wire form is the distinct set's: same hashes (or values), first-seen order, or the same sketch
        expect(w.toJSON().d[field]).toEqual(ref.toJSON());
        expect(WindowAggregate.fromJSON(w.toJSON()).distinctSet(field)?.toJSON()).toEqual(ref.toJSON());
        expect(pooled.distinctSet(field)?.toJSON()).toEqual(ref.toJSON());
        expect(pooled.distinctSet(field)?.valueHashes()?.subarray(0, ref.size)).toEqual(ref.valueHashes()?.subarray(0, ref.size));
        half.merge(rest);
        expect(half.distinctCount(field)).toBe(ref.size);
        w.add(event(late));
        ref.add(late);
        expect(w.distinctCount(field)).toBe(ref.size);
        expect(w.distinctSet(field)?.toJSON()).toEqual(ref.toJSON());
      }
    }
  });

  it('counts distinct paths, IPs, tokens and endpoints, and sums bytes out', () => {
    const w = new WindowAggregate(T0, W);
    w.add(ev({ path: '/v1/orders/1', tokenId: 'tk_a', bytesOut: 10 }));
    w.add(ev({ path: '/v1/orders/2', clientIp: '198.51.100.2', tokenId: 'tk_a', bytesOut: 20 }));
    w.add(ev({ path: '/v1/orders/2', method: 'POST', route: '/v1/orders/:id', tokenId: 'tk_b', bytesOut: 30 }));
    expect([w.distinctCount('paths'), w.distinctCount('ips'), w.distinctCount('tokens'), w.distinctCount('endpoints')]).toEqual([2, 2, 2, 2]);
    expect(w.bytesOut).toBe(60);
  });

  it('keeps the top contributors and failure samples', () => {
    const w = new WindowAggregate(T0, W);
    for (let i = 0; i < 30; i++) w.add(ev({ status: 401, path: '/v1/login', id: `f${i}` }));
    for (let i = 0; i < 5; i++) w.add(ev({ status: 200, path: '/v1/me' }));
    expect(w.top('paths', 2)).toEqual([{ value: '/v1/login', count: 30 }, { value: '/v1/me', count: 5 }]);
    expect(w.top('statuses', 1)).toEqual([{ value: '401', count: 30 }]);
    expect(w.failureSamples).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
  });

  it('measures how steady the traffic was through the window', () => {
    const bursty = new WindowAggregate(T0, W);
    for (let i = 0; i < 100; i++) bursty.add(ev({ ts: T0 + 500 }));
    const steady = new WindowAggregate(T0, W);
    for (let i = 0; i < 100; i++) steady.add(ev({ ts: T0 + i * 600 }));
    expect(bursty.activeFraction()).toBeCloseTo(1 / 32);
    expect(steady.activeFraction()).toBe(1);
  });

  it('round-trips through JSON and merges partials into the same result as one pass', () => {
    const events = Array.from({ length: 200 }, (_, i) => ev({ path: `/v1/orders/${i}`, clientIp: `10.0.${i % 7}.1`, status: i % 10 === 0 ? 401 : 200, latencyMs: i, ts: T0 + i * 250 }));
    const whole = new WindowAggregate(T0, W);
    events.forEach((e) => whole.add(e));
    const a = new WindowAggregate(T0, W);
    const b = new WindowAggregate(T0, W);
    events.forEach((e, i) => (i % 2 ? a : b).add(e));
    const merged = WindowAggregate.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    merged.merge(WindowAggregate.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))));
    expect(merged.requests).toBe(200);
    expect(merged.authFailures).toBe(whole.authFailures);
    expect(merged.distinctCount('ips')).toBe(7);
    expect(merged.distinctCount('paths')).toBeGreaterThan(190); // > 64: estimated
    expect(merged.distinctCount('paths')).toBeLessThan(210);
    expect(merged.latencyP95()).toBeCloseTo(whole.latencyP95(), 6);
    expect(merged.activity).toBe(whole.activity);
  });
  it('reads a partial in the wire form written before the window rewrite, and writes it back unchanged', () => {
    // written by the previous implementation (commit 02ff8cd): 4 events of one token, 2 IPs, 401/404/503 among them
    const wire =
      '{"v":1,"n":4,"a":1,"nf":1,"tm":0,"e5":1,"bo":400,"t0":1710252001000,"t1":1710252022000,"act":2321,"ws":1710252000000,"wl":60000,' +
      '"d":{"paths":{"k":[3129918227,1389868177,3627948039]},"ips":{"s":["203.0.113.7","198.51.100.2"]},"failIps":{"k":[339622278]}},' +
      '"top":{"ips":[["203.0.113.7",2],["198.51.100.2",2]],"paths":[["/v1/orders/1",1],["/v1/orders/2",2],["/v1/orders/3",1]],' +
      '"statuses":[["200",1],["401",1],["404",1],["503",1]],"routes":[["/v1/orders/:id",4]],"failIps":[["203.0.113.7",1]]},' +
      '"lat":[[54,1],[63,1],[74,1],[140,1]],"asn":[3320],"cc":["DE","FR"],"smp":["e0","e1","e2","e3"],"fsmp":["e1","e2","e3"],"tr":243}';
    const w = WindowAggregate.fromJSON(JSON.parse(wire) as WindowAggJson);
    expect(JSON.stringify(w)).toBe(wire);
    expect({ paths: w.distinctCount('paths'), ips: w.distinctSet('ips')?.values(), failIps: w.distinctCount('failIps'), p95: Math.round(w.latencyP95()) }).toEqual({ paths: 3, ips: ['203.0.113.7', '198.51.100.2'], failIps: 1, p95: 902 });
    expect(w.top('paths', 1)).toEqual([{ value: '/v1/orders/2', count: 2 }]);
    // the same events added here give the same wire form
    const again = new WindowAggregate(T0, W, 243);
    [['203.0.113.7', '/v1/orders/1', 200, 20], ['203.0.113.7', '/v1/orders/2', 401, 35], ['198.51.100.2', '/v1/orders/2', 404, 900], ['198.51.100.2', '/v1/orders/3', 503, 12.5]].forEach(([ip, path, status, lat], i) =>
      again.add(ev({ id: `e${i}`, ts: T0 + 1000 + i * 7000, clientIp: ip as string, path: path as string, status: status as number, latencyMs: lat as number, tokenId: 'tk_a', country: i === 3 ? 'FR' : 'DE' })),
    );
    expect(JSON.stringify(again)).toBe(wire);
  });

  it('carries nothing over when a pooled aggregate is reused for an entity type that tracks less, then more', () => {
    const w = new WindowAggregate(T0, W, TRACK_ALL);
    for (let i = 0; i < 100; i++) w.add(ev({ status: 401, path: `/p/${i}`, clientIp: `10.0.0.${i}`, tokenId: `tk_${i}`, latencyMs: 900, country: 'FR', asn: 64500 + i }));
    w.reset(T0 + W, W, TRACK_TOPS);
    w.add(ev({ ts: T0 + W + 10, path: '/v1/me', id: 'mid' }));
    w.reset(T0 + 2 * W, W, TRACK_ALL);
    w.add(ev({ ts: T0 + 2 * W + 10, path: '/v1/x', id: 'last', latencyMs: 20 }));
    const distinct = ['paths', 'ips', 'tokens', 'endpoints', 'failIps'] as const;
    expect(distinct.map((f) => w.distinctCount(f))).toEqual([1, 1, 0, 1, 0]);
    expect([w.top('paths', 5), w.top('failIps', 5), w.asns, w.countries, w.samples]).toEqual([[{ value: '/v1/x', count: 1 }], [], [3320], ['DE'], ['last']]);
    expect(w.toJSON().lat).toHaveLength(1);
    expect(w.latencyP95()).toBeLessThan(25);
  });

  it('keeps no top routes nor failing IPs with TRACK_NO_ROUTE_TOPS, in adds and merges alike', () => {
    const events = Array.from({ length: 30 }, (_, i) => ev({ clientIp: `10.0.0.${i % 4}`, path: `/v1/orders/${i % 7}`, status: i % 3 ? 200 : 401 }));
    const all = new WindowAggregate(T0, W, TRACK_ALL);
    const tops = new WindowAggregate(T0, W, TRACK_TOPS | TRACK_NO_ROUTE_TOPS);
    const merged = new WindowAggregate(T0, W, TRACK_TOPS | TRACK_NO_ROUTE_TOPS);
    for (const e of events) (all.add(e), tops.add(e));
    merged.merge(all);
    expect(all.top('routes', 5)).toEqual([{ value: '/v1/orders/:id', count: 30 }]);
    expect(all.top('failIps', 5).length).toBeGreaterThan(0);
    for (const w of [tops, merged]) {
      expect([w.top('routes', 5), w.top('failIps', 5)]).toEqual([[], []]);
      for (const f of ['ips', 'paths', 'statuses'] as const) expect(w.top(f, 20)).toEqual(all.top(f, 20));
    }
    const wire = JSON.parse(JSON.stringify(tops)) as WindowAggJson;
    expect(wire.tr).toBe(TRACK_TOPS | TRACK_NO_ROUTE_TOPS);
    const back = WindowAggregate.fromJSON(wire);
    back.add(events[0]!);
    expect([back.tracks, back.top('routes', 5)]).toEqual([TRACK_TOPS | TRACK_NO_ROUTE_TOPS, []]);
  });

  it('merges a partial of one event into a busy window as if the event had been added there', () => {
    const busy = Array.from({ length: 500 }, (_, i) => ev({ clientIp: `10.1.${i % 250}.1`, path: `/v1/orders/${i % 40}`, status: i % 9 === 0 ? 401 : 200, latencyMs: 10 + (i % 50) }));
    const late = ev({ clientIp: '10.9.9.9', path: '/v1/orders/7', status: 401, latencyMs: 4000 });
    const direct = new WindowAggregate(T0, W);
    const merged = new WindowAggregate(T0, W);
    busy.forEach((e) => (direct.add(e), merged.add(e)));
    direct.add(late);
    const partial = new WindowAggregate(T0, W);
    partial.add(late);
    merged.merge(partial);
    expect(JSON.stringify(merged)).toBe(JSON.stringify(direct));
    expect(merged.distinctCount('failIps')).toBe(57);
  });
});

describe(BoundedDistinct.name, () => {
  it.each([10, 64, 1_000, 50_000])('counts %i distinct values within 5 %', (count) => {
    const d = new BoundedDistinct();
    for (let i = 0; i < count; i++) d.add(`/v1/items/${i}`);
    for (let i = 0; i < count; i++) d.add(`/v1/items/${i}`); // duplicates change nothing
    expect(Math.abs(d.size - count) / count).toBeLessThan(0.05);
    expect(d.estimated).toBe(count > 64);
  });

  /** Past 16 values a set finds them through a hash table of its slots: exact counts, insertion order, reuse after clear. */
  it('stays exact and in insertion order up to its cap, across clears and the switch to the sketch', () => {
    const d = new BoundedDistinct();
    let x = 5;
    for (let round = 0; round < 6; round++) {
      const seen: string[] = [];
      const distinct = [2, 15, 16, 17, 40, 64][round]!;
      for (let i = 0; i < 400; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const v = `10.1.${round}.${(x >>> 8) % distinct}`;
        if (!seen.includes(v)) seen.push(v);
        d.add(v);
        expect(d.size).toBe(seen.length);
      }
      expect(d.values()).toEqual(seen);
      expect(d.has(seen[0]!)).toBe(true);
      expect(d.has('10.9.9.9')).toBe(false);
      if (round === 3) {
        for (let i = 0; i < 100; i++) d.add(`x${i}`); // to the sketch, then cleared
        expect(d.estimated).toBe(true);
      }
      d.clear(true);
      expect(d.size).toBe(0);
    }
  });
});

describe(LatencySketch.name, () => {
  it('answers p95 within 3 % of the exact value', () => {
    const s = new LatencySketch();
    const values = Array.from({ length: 1000 }, (_, i) => 5 + i * 1.7);
    values.forEach((v) => s.add(v));
    const exact = [...values].sort((a, b) => a - b)[949]!;
    expect(Math.abs(s.quantile(0.95) - exact) / exact).toBeLessThan(0.03);
  });
});

describe(TopSet.name, () => {
  it('keeps the heavy hitters when a field has more keys than slots', () => {
    const t = new TopSet(2, 5);
    for (let i = 0; i < 500; i++) t.add(1, `ip${i}`);
    for (let i = 0; i < 300; i++) t.add(1, 'heavy');
    expect(t.top(1, 1)[0]?.value).toBe('heavy');
    expect(t.size(0)).toBe(0);
  });

  /** Exact counts per field while a field holds at most k keys (reference: a Map per field). */
  it('counts exactly per field while fields grow past their first rows of slots', () => {
    const t = new TopSet(3, 20);
    const ref = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
    let x = 7;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const f = x % 3;
      const key = `k${f}-${(x >>> 8) % (f === 0 ? 3 : f === 1 ? 11 : 20)}`; // 3, 11 and 20 keys: rows 2 → 4, 16, 20
      t.add(f, key, 1 + (i % 2));
      ref[f]!.set(key, (ref[f]!.get(key) ?? 0) + 1 + (i % 2));
    }
    for (let f = 0; f < 3; f++) {
      expect(t.size(f)).toBe(ref[f]!.size);
      expect(new Map(t.entries(f))).toEqual(ref[f]);
      expect(t.max(f)).toBe(Math.max(...ref[f]!.values()));
    }
  });

  /**
   * Full fields against a plain space-saving reference (a new key replaces the FIRST slot of least count, with that
   * count added; slot order kept), so the remembered least-count slot never changes which slot goes.
   */
  it('replaces the first slot of least count in full fields, as a plain scan would', () => {
    const K = 6;
    const t = new TopSet(3, K);
    const ref: [string, number][][] = [[], [], []];
    const refAdd = (f: number, key: string, n: number): void => {
      const r = ref[f]!;
      const hit = r.find((e) => e[0] === key);
      if (hit) hit[1] += n;
      else if (r.length < K) r.push([key, n]);
      else {
        let at = 0;
        for (let i = 1; i < r.length; i++) if (r[i]![1] < r[at]![1]) at = i;
        r[at] = [key, r[at]![1] + n];
      }
    };
    let x = 11;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const f = x % 3;
      // skewed keys (a few heavy, many rare), counts 1-3, and now and then a clear
      const r = (x >>> 8) % 100;
      const key = `k${f}-${r < 50 ? r % 4 : r}`;
      const n = 1 + ((x >>> 20) % 3);
      t.add(f, key, n);
      refAdd(f, key, n);
      if (i % 5000 === 4999) {
        t.clear();
        for (const r2 of ref) r2.length = 0;
      }
      if (i % 997 === 0) for (let g = 0; g < 3; g++) expect(t.entries(g)).toEqual(ref[g]);
    }
    for (let g = 0; g < 3; g++) expect(t.entries(g)).toEqual(ref[g]);
    // merged into a full field: the same as adding the other's entries one by one
    const o = new TopSet(3, K);
    for (let i = 0; i < 40; i++) o.add(1, `m${i % 9}`, 1 + (i % 4));
    t.mergeField(0, o, 1);
    for (const [key, n] of o.entries(1)) refAdd(0, key, n);
    expect(t.entries(0)).toEqual(ref[0]);
  });

  it('keeps two keys with the same hash apart (a hash match is confirmed on the string)', () => {
    const t = new TopSet(1, 5);
    t.addHashed(0, 42, 'a');
    t.addHashed(0, 42, 'b');
    t.addHashed(0, 42, 'a');
    expect(t.top(0, 5)).toEqual([
      { value: 'a', count: 2 },
      { value: 'b', count: 1 },
    ]);
  });

  it('merges another set field by field with the same result as adding its keys', () => {
    const a = new TopSet(2, 20);
    const b = new TopSet(2, 20);
    const direct = new TopSet(2, 20);
    for (let i = 0; i < 30; i++) {
      const key = `p${i % 7}`;
      (i % 2 ? a : b).add(i % 2, key);
      direct.add(i % 2, key);
    }
    a.mergeField(0, b, 0);
    a.mergeField(1, b, 1);
    for (let f = 0; f < 2; f++) expect(a.top(f, 20)).toEqual(direct.top(f, 20));
  });
});

describe(EventHashes.name, () => {
  it('gives a window the same contents whether the hashes are passed in, stale (another event) or absent', () => {
    const events = Array.from({ length: 40 }, (_, i) => ev({ clientIp: `10.0.0.${i % 6}`, path: `/v1/orders/${i % 9}`, route: i % 4 ? '/v1/orders/:id' : '', status: i % 5 ? 200 : 401 }));
    const h = new EventHashes();
    const shared = new WindowAggregate(T0, W, TRACK_ALL);
    const stale = new WindowAggregate(T0, W, TRACK_ALL);
    const none = new WindowAggregate(T0, W, TRACK_ALL);
    h.set(ev());
    for (const e of events) {
      stale.add(e, h); // hashes of the previous event: recomputed for this one
      h.set(e);
      shared.add(e, h);
      none.add(e);
    }
    expect(shared.toJSON()).toEqual(none.toJSON());
    expect(stale.toJSON()).toEqual(none.toJSON());
  });
});

describe('event-time windows', () => {
  it.each([
    [T0, T0],
    [T0 + 59_999, T0],
    [T0 + 60_000, T0 + 60_000],
  ])('event at %i belongs to the window starting %i', (ts, start) => {
    expect(windowStartOf(ts, W)).toBe(start);
  });

  it('closes a window once the max event time passes its end by the allowed lateness', () => {
    const wm = new Watermark(10_000);
    wm.observe(T0 + 65_000);
    expect(wm.isClosed(T0, W)).toBe(false);
    wm.observe(T0 + 70_000);
    expect(wm.isClosed(T0, W)).toBe(true);
    wm.observe(T0 + 1_000); // a late event does not move it back
    expect(wm.isClosed(T0, W)).toBe(true);
  });
});
