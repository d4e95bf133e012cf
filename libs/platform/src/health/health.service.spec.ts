import { ManualClock } from '../clock/clock.js';
import type { DependencyHealth } from '../ports/event-bus.js';
import { HealthService, type HealthIndicator } from './health.service.js';

const answering = (name: string, kind: string, h: DependencyHealth): HealthIndicator => ({ name, kind, health: async () => h });

describe(HealthService.name, () => {
  it('is ok when every dependency answers ok, listing each with its kind and detail', async () => {
    const health = new HealthService('alert', new ManualClock(1_000));
    health.register(answering('event-bus', 'kafka', { name: 'kafka', ok: true, detail: '3 broker(s)' }));
    health.register(answering('store', 'clickhouse', { name: 'clickhouse', ok: true }));
    expect(await health.check()).toEqual({
      status: 'ok',
      service: 'alert',
      uptimeSeconds: 0,
      checks: [
        { name: 'event-bus', ok: true, detail: 'kafka: 3 broker(s)' },
        { name: 'store', ok: true, detail: 'clickhouse' },
      ],
    });
  });

  it('is degraded when one dependency is not ok', async () => {
    const health = new HealthService('alert', new ManualClock());
    health.register(answering('event-bus', 'kafka', { name: 'kafka', ok: true }));
    health.register(answering('work-queue', 'bullmq', { name: 'redis', ok: false, detail: 'ECONNREFUSED' }));
    const report = await health.check();
    expect(report.status).toBe('degraded');
    expect(report.checks[1]).toEqual({ name: 'work-queue', ok: false, detail: 'bullmq: ECONNREFUSED' });
  });

  it('counts a dependency whose health() throws as failed, with the error', async () => {
    const health = new HealthService('ingest', new ManualClock());
    health.register({ name: 'store', kind: 'sqlite', health: () => Promise.reject(new Error('database is locked')) });
    expect((await health.check()).checks).toEqual([{ name: 'store', ok: false, detail: 'sqlite: database is locked' }]);
  });

  it('counts a dependency that does not answer in time as failed, so /health never hangs', async () => {
    const health = new HealthService('ingest', new ManualClock(), 20);
    health.register({ name: 'store', kind: 'clickhouse', health: () => new Promise<DependencyHealth>(() => undefined) });
    const report = await health.check();
    expect(report.status).toBe('degraded');
    expect(report.checks[0]).toEqual({ name: 'store', ok: false, detail: 'clickhouse: no answer within 20 ms' });
  });

  it('reports uptime from the injected clock in whole seconds', async () => {
    const clock = new ManualClock(10_000);
    const health = new HealthService('detector', clock);
    clock.advance(90_400);
    expect((await health.check()).uptimeSeconds).toBe(90);
  });
});
