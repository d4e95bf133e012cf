import { jest } from '@jest/globals';
import { anomalyKey, tokenIpEntity, type Anomaly } from '@vigil/contracts';
import { KafkaEventBus, loadConfig, ManualClock, MetricsService, type EventBus } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anAnomaly, testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { AnomaliesConsumer } from '@vigil/alert/anomalies/anomalies.consumer';
import { StreamPublisher } from '@vigil/alert/gateway/stream-publisher';
import { DEFAULT_INCIDENT_POLICY } from '@vigil/alert/incidents/incident-grouper';
import { ProcessAnomalies } from '@vigil/alert/incidents/process-anomalies.usecase';
import pino from 'pino';

/**
 * Two alert instances against the real Kafka protocol and one real ClickHouse database: whether they share the
 * consumer group (partitions split) or each have their own (both see every anomaly), the anomalies of one entity end
 * in ONE incident with the revision of the anomaly set, never in twins.
 */
jest.setTimeout(240_000);

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const MIN = 60_000;
/** What the instances and their Kafka clients logged, newest last: a test that times out prints the tail. */
const journal: string[] = [];
const logger = pino({ level: 'info', base: null }, { write: (line: string) => void journal.push(line.trim()) });
const note = (level: string) => (o: object, msg?: string) => void journal.push(`${new Date().toISOString()} ${level} ${msg ?? ''} ${JSON.stringify(o)}`);
const quiet = { info: note('info'), warn: note('warn'), error: note('error') };

/** waitFor, with the journal's tail attached when it times out (two consumers in one group on the mock broker is where this suite has flaked). */
async function waitLogged<T>(check: () => T | Promise<T>, options: { timeoutMs: number; what: string }): Promise<NonNullable<T>> {
  try {
    return await waitFor(check, options);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast log lines:\n${journal.slice(-60).join('\n')}`);
  }
}

interface Instance {
  bus: EventBus;
  consumer: AnomaliesConsumer;
  processed: () => number;
  /** The partitions of the last assignment the instance's consumer reported. */
  assigned: () => number[];
}

describe('alert instances consuming the same anomalies', () => {
  const { clickhouseUrl, kafkaBrokers } = testEndpoints();
  const config = loadConfig({ VIGIL_MODE: 'standalone', LOG_LEVEL: 'silent' });
  let database: string;
  let store: ClickHouseStore;
  let producer: KafkaEventBus;
  const instances: Instance[] = [];

  beforeEach(async () => {
    journal.length = 0;
    database = uniqueName('alert_int').replace(/[^A-Za-z0-9_]/g, '_');
    store = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database, clock: new ManualClock(T0) });
    await store.migrate();
    producer = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('alert-producer'), logger: quiet });
  });

  afterEach(async () => {
    for (const i of instances.splice(0)) {
      await i.consumer.onModuleDestroy();
      await i.bus.close();
    }
    await producer.close();
    await store.close();
    await fetch(clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
  });

  async function startInstance(topic: string, groupId: string): Promise<Instance> {
    let assigned: number[] = [];
    const busLog = {
      ...quiet,
      info: (o: object, msg?: string) => {
        if (msg === 'kafka partitions assigned' && 'partitions' in o && Array.isArray(o.partitions)) assigned = o.partitions as number[];
        quiet.info(o, msg);
      },
    };
    const bus = new KafkaEventBus({ brokers: kafkaBrokers, clientId: uniqueName('alert'), logger: busLog });
    const publisher = new StreamPublisher(store, bus, new ManualClock(T0), logger);
    const process = new ProcessAnomalies(store, DEFAULT_INCIDENT_POLICY, publisher, logger, new MetricsService('alert'));
    let processed = 0;
    const execute = process.execute.bind(process);
    process.execute = async (batch) => {
      const out = await execute(batch);
      processed += batch.length;
      return out;
    };
    const consumer = new AnomaliesConsumer(bus, config, logger, process, { topic, groupId });
    await consumer.onApplicationBootstrap();
    const instance = { bus, consumer, processed: () => processed, assigned: () => assigned };
    instances.push(instance);
    return instance;
  }

  async function produce(topic: string, anomalies: Anomaly[]): Promise<void> {
    await producer.publish(topic, anomalies.map((a) => ({ key: anomalyKey(a), value: JSON.stringify(a) })));
  }

  const tenant = uniqueName('tenant');
  const burst = (entity: string, n: number): Anomaly[] =>
    Array.from({ length: n }, (_, k) => anAnomaly({ tenant, entity, windowStart: T0 + k * MIN, windowEnd: T0 + (k + 1) * MIN, detectedAt: T0 + (k + 1) * MIN, severity: k === 2 ? 'critical' : 'medium' }));

  it('opens one incident per entity when two instances share the consumer group', async () => {
    const topic = uniqueName('vigil.anomalies');
    const group = uniqueName('alert-shared');
    const pair = await Promise.all([startInstance(topic, group), startInstance(topic, group)]);
    // The group first settles with both members holding partitions. On the mock broker a join takes seconds, and a
    // join that races another can wait out a session timeout (30 s) before the rebalance completes; that is the
    // broker's pace, not the alert's, so it has its own, longer budget.
    await waitLogged(() => pair.every((i) => i.assigned().length > 0), { timeoutMs: 150_000, what: 'both instances to hold partitions of the shared group' });
    const ipA = burst('198.51.100.10', 4);
    const ipB = burst('198.51.100.11', 3);
    await produce(topic, [...ipA, ...ipB]);

    const page = await waitLogged(
      async () => {
        const p = await store.incidents.list({ tenant });
        const counts = p.items.map((i) => i.anomalyCount).sort();
        return counts.join(',') === '3,4' ? p : null;
      },
      { timeoutMs: 60_000, what: 'two incidents with 4 and 3 anomalies' },
    );
    expect(page.items.map((i) => ({ entity: i.entity, count: i.anomalyCount, revision: i.revision, severity: i.severity })).sort((x, y) => x.entity.localeCompare(y.entity))).toEqual([
      { entity: '198.51.100.10', count: 4, revision: 4, severity: 'critical' },
      { entity: '198.51.100.11', count: 3, revision: 3, severity: 'critical' },
    ]);
  });

  it('writes one incident, not twins, when two instances each consume every anomaly (separate groups)', async () => {
    const topic = uniqueName('vigil.anomalies');
    const [a, b] = await Promise.all([startInstance(topic, uniqueName('alert-a')), startInstance(topic, uniqueName('alert-b'))]);
    const anomalies = [
      ...burst('203.0.113.50', 5),
      anAnomaly({ tenant, entityType: 'token', entity: 'tok-stolen', windowStart: T0, windowEnd: T0 + MIN, detectedAt: T0 + MIN }),
      anAnomaly({ tenant, entityType: 'token_ip', entity: tokenIpEntity('tok-stolen', '192.0.2.99'), windowStart: T0 + MIN, windowEnd: T0 + 2 * MIN, detectedAt: T0 + 2 * MIN }),
    ];
    await produce(topic, anomalies);
    await waitLogged(() => a?.processed() === anomalies.length && b?.processed() === anomalies.length, { timeoutMs: 60_000, what: 'both instances to process every anomaly' });

    const { items } = await store.incidents.list({ tenant });
    const ip = items.filter((i) => i.entity === '203.0.113.50');
    expect(ip).toHaveLength(1);
    expect(ip[0]).toMatchObject({ anomalyCount: 5, revision: 5, status: 'open' });
    expect(new Set(ip[0]?.anomalyIds)).toEqual(new Set(anomalies.slice(0, 5).map((x) => x.id)));
    const token = items.filter((i) => i.entityType === 'token');
    expect(token).toHaveLength(1);
    expect(token[0]?.related).toEqual(expect.arrayContaining([{ type: 'ip', value: '192.0.2.99' }]));
    expect(items).toHaveLength(2);
  });
});
