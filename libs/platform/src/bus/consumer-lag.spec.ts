import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PlatformModule } from '../nest/platform.module.js';
import { EVENT_BUS, type EventBus, type InboundMessage, type Subscription } from '../ports/event-bus.js';
import { CONSUMER_LAG_METRIC, lagBetween, registerConsumerMetrics, type ConsumerLagSample } from './consumer-lag.js';
import { InProcessEventBus } from './in-process-event-bus.js';

/** `vigil_consumer_lag` lines of a scrape, as samples (the service label dropped). */
async function scrapeLag(metrics: MetricsService): Promise<ConsumerLagSample[]> {
  const text = await metrics.render();
  const out: ConsumerLagSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^vigil_consumer_lag\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ topic: labels['topic']!, partition: Number(labels['partition']), group: labels['group']!, lag: Number(m[2]) });
  }
  return out.sort((a, b) => a.group.localeCompare(b.group) || a.partition - b.partition);
}

/** A handler that holds its first batch until released. */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const holding = new Promise<void>((r) => (entered = r));
  const seen: InboundMessage[] = [];
  const handler = async (batch: InboundMessage[]) => {
    entered();
    await released;
    seen.push(...batch);
  };
  return { handler, holding, release, seen };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never saw ${what}`);
}

describe('lagBetween', () => {
  it.each([
    ['100', '40', 60],
    ['100', '100', 0],
    ['40', '100', 0], // a watermark from before the last commit reads as caught up
    ['9007199254740999', '9007199254740990', 9],
    ['0', '0', 0],
    ['abc', '1', 0],
  ])('high watermark %s, next offset %s → %d', (hw, next, lag) => {
    expect(lagBetween(hw, next)).toBe(lag);
  });
});

describe(registerConsumerMetrics.name, () => {
  let bus: InProcessEventBus;
  const subs: Subscription[] = [];
  beforeEach(() => {
    bus = new InProcessEventBus({ partitions: 3 });
  });
  afterEach(async () => {
    await Promise.all(subs.splice(0).map((s) => s.close()));
    await bus.close();
  });

  it('shows per partition and group the messages published but not yet processed, then 0 once processed', async () => {
    const metrics = new MetricsService('ingest');
    registerConsumerMetrics(metrics, bus);
    // one key: every message goes to one partition
    await bus.publish('t.raw', Array.from({ length: 10 }, (_, i) => ({ key: 'tenant|10.0.0.1', value: `m${i}` })));
    const g = gate();
    subs.push(await bus.subscribe({ topic: 't.raw', groupId: 'vigil-ingest', maxBatchSize: 4 }, g.handler));
    await g.holding;

    const held = await scrapeLag(metrics);
    expect(held).toHaveLength(3);
    expect(held.map((s) => s.lag).sort()).toEqual([0, 0, 10]);
    expect(held.every((s) => s.topic === 't.raw' && s.group === 'vigil-ingest')).toBe(true);

    g.release();
    await until(async () => (await scrapeLag(metrics)).every((s) => s.lag === 0), 'lag 0 after processing');
    expect(g.seen).toHaveLength(10);
  });

  it('keeps one series per group: a second group that has not consumed shows the whole backlog', async () => {
    const metrics = new MetricsService('standalone');
    registerConsumerMetrics(metrics, bus);
    const fast = gate();
    fast.release();
    subs.push(await bus.subscribe({ topic: 't.events', groupId: 'fast' }, fast.handler));
    const slow = gate();
    subs.push(await bus.subscribe({ topic: 't.events', groupId: 'slow' }, slow.handler));
    await bus.publish('t.events', Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: String(i) })));
    await slow.holding;
    await until(async () => fast.seen.length === 6, 'the fast group to process all');

    const lag = await scrapeLag(metrics);
    const total = (group: string) => lag.filter((s) => s.group === group).reduce((n, s) => n + s.lag, 0);
    expect(total('fast')).toBe(0);
    expect(total('slow')).toBe(6);
    slow.release();
  });

  it('drops the series of a group once its last member has left', async () => {
    const metrics = new MetricsService('detector');
    registerConsumerMetrics(metrics, bus);
    const g = gate();
    g.release();
    const sub = await bus.subscribe({ topic: 't.gone', groupId: 'leaving' }, g.handler);
    expect((await scrapeLag(metrics)).filter((s) => s.group === 'leaving')).toHaveLength(3);
    await sub.close();
    expect(await scrapeLag(metrics)).toEqual([]);
  });

  it('registers once per registry when called twice', async () => {
    const metrics = new MetricsService('alert');
    registerConsumerMetrics(metrics, bus);
    registerConsumerMetrics(metrics, bus);
    expect((await metrics.render()).match(new RegExp(`^# TYPE ${CONSUMER_LAG_METRIC} gauge$`, 'gm'))).toHaveLength(1);
  });
});

describe('PlatformModule metrics', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-lag-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the lag of the process event bus in its MetricsService', async () => {
    @Module({ imports: [PlatformModule.forRoot({ service: 'standalone', config: loadConfig({ VIGIL_DATA_DIR: dir }), logger: pino({ level: 'silent' }) })] })
    class LagTestModule {}
    const app = await NestFactory.createApplicationContext(LagTestModule, { logger: false });
    try {
      const bus = app.get<EventBus>(EVENT_BUS);
      const metrics = app.get(MetricsService);
      const g = gate();
      await bus.publish('t.platform', [{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
      const sub = await bus.subscribe({ topic: 't.platform', groupId: 'vigil-alert' }, g.handler);
      await g.holding;
      expect((await scrapeLag(metrics)).reduce((n, s) => n + s.lag, 0)).toBe(2);
      g.release();
      await sub.close();
    } finally {
      await app.close();
    }
  });
});
