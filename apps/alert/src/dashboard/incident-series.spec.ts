import { anAccessEvent, anAnomaly } from '@vigil/testing';
import { buildSeries, chartTarget, entityFilter, metricsOf, quantile } from './incident-series.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 4, 14, 8, 0, 0);

describe('incident series', () => {
  describe(buildSeries.name, () => {
    it('recomputes observed requests per window from the events and puts the band only where the detector fired', () => {
      const events = [0, 10_000, 20_000, MIN + 5_000, 3 * MIN + 1].map((dt, i) => anAccessEvent({ id: `e${i}`, ts: T0 + dt }));
      const a = anAnomaly({ windowStart: T0 + MIN, windowEnd: T0 + 2 * MIN, metric: 'requests', observed: 99, expected: 1, lower: 0, upper: 4, score: 0.9 });
      const points = buildSeries({ from: T0, windows: 4, windowMs: MIN, anomalies: [a], events, metric: 'requests', readFrom: T0 });
      expect(points.map((p) => [p.t - T0, p.observed, p.expected, p.lower, p.upper, p.anomalous])).toEqual([
        [0, 3, null, null, null, false],
        [MIN, 1, 1, 0, 4, true],
        [2 * MIN, 0, null, null, null, false],
        [3 * MIN, 1, null, null, null, false],
      ]);
    });

    it.each([
      ['auth_failures', [401, 403, 200, 500], 2],
      ['errors_5xx', [401, 500, 503, 200], 2],
    ])('counts %s from the statuses', (metric, statuses, want) => {
      const events = statuses.map((status, i) => anAccessEvent({ id: `s${i}`, ts: T0 + i, status }));
      expect(buildSeries({ from: T0, windows: 1, windowMs: MIN, anomalies: [], events, metric, readFrom: T0 })[0]?.observed).toBe(want);
    });

    it('leaves windows older than what could be read unknown rather than zero', () => {
      const events = [anAccessEvent({ id: 'x', ts: T0 + MIN + 1 })];
      const points = buildSeries({ from: T0, windows: 2, windowMs: MIN, anomalies: [], events, metric: 'requests', readFrom: T0 + MIN });
      expect(points.map((p) => p.observed)).toEqual([null, 1]);
    });

    it('uses the detector observed values for metrics not recomputable from requests', () => {
      const a = anAnomaly({ windowStart: T0 + MIN, windowEnd: T0 + 2 * MIN, metric: 'injection_sqli', observed: 7 });
      const points = buildSeries({ from: T0, windows: 2, windowMs: MIN, anomalies: [a], events: null, metric: 'injection_sqli', readFrom: T0 });
      expect(points.map((p) => p.observed)).toEqual([null, 7]);
    });
  });

  describe(entityFilter.name, () => {
    it.each([
      ['ip', '203.0.113.7', { filter: { clientIp: '203.0.113.7' } }],
      ['token', 'tk_1', { filter: { tokenId: 'tk_1' } }],
      ['endpoint', 'GET /v1/orders/:id', { filter: { route: '/v1/orders/:id' }, method: 'GET' }],
      ['token_ip', 'tk|a|203.0.113.7', { filter: { tokenId: 'tk|a', clientIp: '203.0.113.7' } }],
    ] as const)('selects the events of a %s entity', (type, entity, want) => {
      expect(entityFilter(type, entity)).toEqual(want);
    });
  });

  it('lists the metrics of the anomalies, most frequent first', () => {
    const anomalies = ['requests', 'auth_failures', 'auth_failures', 'distinct_paths'].map((metric, i) => anAnomaly({ id: `a${i}`, metric }));
    expect(metricsOf(anomalies)).toEqual(['auth_failures', 'distinct_paths', 'requests']);
  });

  describe(chartTarget.name, () => {
    const token = { entityType: 'token' as const, entity: 'tk_1' };
    it('charts the incident entity when an anomaly of the metric is about it', () => {
      const own = anAnomaly({ ...token, id: 'a', score: 0.5 });
      const pair = anAnomaly({ entityType: 'token_ip', entity: 'tk_1|203.0.113.7', id: 'b', score: 0.9 });
      expect(chartTarget(token, [pair, own])).toEqual(token);
    });
    it('charts the token×IP series its band belongs to when the incident holds only those', () => {
      const low = anAnomaly({ entityType: 'token_ip', entity: 'tk_1|198.51.100.1', id: 'a', score: 0.6 });
      const high = anAnomaly({ entityType: 'token_ip', entity: 'tk_1|203.0.113.7', id: 'b', score: 0.9 });
      expect(chartTarget(token, [low, high])).toEqual({ entityType: 'token_ip', entity: 'tk_1|203.0.113.7' });
    });
  });

  it('takes the nearest-rank p95', () => {
    expect(quantile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
    expect(quantile([], 0.95)).toBe(0);
  });
});
