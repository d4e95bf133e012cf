import { MetricsService } from './metrics.service.js';

describe(MetricsService.name, () => {
  it('exposes default process metrics labelled with the service', async () => {
    const text = await new MetricsService('ingest').render();
    expect(text).toMatch(/^process_resident_memory_bytes\{service="ingest"\} \d+/m);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('renders a counter registered by domain code with its labels', async () => {
    const metrics = new MetricsService('ingest');
    metrics.counter({ name: 'vigil_ingest_rejected_total', help: 'Raw records rejected, by reason', labelNames: ['reason'] }).inc({ reason: 'parse' }, 3);
    expect(await metrics.render()).toContain('vigil_ingest_rejected_total{reason="parse",service="ingest"} 3');
  });

  it('returns the same metric when two modules ask for one name', () => {
    const metrics = new MetricsService('standalone');
    const a = metrics.histogram({ name: 'vigil_batch_seconds', help: 'h', buckets: [0.1, 1] });
    const b = metrics.histogram({ name: 'vigil_batch_seconds', help: 'h' });
    expect(b).toBe(a);
  });

  it('refuses one name for two metric types', () => {
    const metrics = new MetricsService('standalone');
    metrics.counter({ name: 'vigil_things_total', help: 'c' });
    expect(() => metrics.gauge({ name: 'vigil_things_total', help: 'g' })).toThrow('vigil_things_total is already registered with another type');
  });

  it('keeps two app instances in one process apart', async () => {
    new MetricsService('a').counter({ name: 'vigil_only_in_a_total', help: 'c' }).inc();
    expect(await new MetricsService('b').render()).not.toContain('vigil_only_in_a_total');
  });
});
