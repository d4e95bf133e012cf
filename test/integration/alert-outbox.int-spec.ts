import { jest } from '@jest/globals';
import { anomalyKey, TOPICS, type Anomaly, type StreamEventType } from '@vigil/contracts';
import { InProcessEventBus, loadConfig, ManualClock, MetricsService, type Store } from '@vigil/platform';
import { anAnomaly, onBothStoreAdapters, uniqueName, waitFor } from '@vigil/testing';
import { AnomaliesConsumer } from '@vigil/alert/anomalies/anomalies.consumer';
import { StreamPublisher, type StreamPayload } from '@vigil/alert/gateway/stream-publisher';
import { DEFAULT_INCIDENT_POLICY } from '@vigil/alert/incidents/incident-grouper';
import { ProcessAnomalies } from '@vigil/alert/incidents/process-anomalies.usecase';
import pino from 'pino';

/**
 * No incident notification is lost when the store fails after the incident is written and before its live events
 * are logged: the batch is redelivered, finds the incident already up to date, and must still send what the failed
 * attempt never sent, exactly once. The store is real (SQLite, and ClickHouse on the dev server); the failure is
 * injected at the Store port (the live-event append rejects once, after the incident upserts it raced with have
 * landed), so what is under test is the use case's ordering.
 */
jest.setTimeout(60_000);

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const MIN = 60_000;
const logger = pino({ level: 'silent' });

interface Heard {
  type: StreamEventType;
  eventId: string;
  subject: string;
}

/** The store as is, except that the first live-event append fails once every incident upsert started before it has settled. */
function failingFirstStreamAppend(store: Store): { store: Store; failures: () => number } {
  const upserts: Promise<unknown>[] = [];
  let failures = 0;
  const incidents = new Proxy(store.incidents, {
    get(target, prop, receiver) {
      if (prop !== 'upsert' && prop !== 'upsertMany') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: unknown[]) => {
        const p = (Reflect.get(target, prop, receiver) as (...a: unknown[]) => Promise<void>).apply(target, args);
        upserts.push(p.catch(() => undefined));
        return p;
      };
    },
  });
  const streamEvents = new Proxy(store.streamEvents, {
    get(target, prop, receiver) {
      if (prop !== 'append') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: Parameters<Store['streamEvents']['append']>) => {
        if (failures === 0) {
          failures += 1;
          await Promise.all(upserts);
          throw new Error('injected: store unavailable');
        }
        return target.append(...args);
      };
    },
  });
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'incidents') return incidents;
      if (prop === 'streamEvents') return streamEvents;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { store: wrapped, failures: () => failures };
}

onBothStoreAdapters(
  (name, makeStore) => {
    describe(`${ProcessAnomalies.name} with a store failing between the incident write and the live-event log (${name})`, () => {
      let store: Store;
      let bus: InProcessEventBus;
      let consumer: AnomaliesConsumer | null = null;

      beforeEach(async () => {
        store = await makeStore();
        await store.migrate();
        bus = new InProcessEventBus();
      });
      afterEach(async () => {
        await consumer?.onModuleDestroy();
        consumer = null;
        await bus.close();
        await store.close();
      });

      it('sends the incident notification exactly once after the redelivery: socket broadcast, live-event log and webhook topic', async () => {
        const faulty = failingFirstStreamAppend(store);
        const publisher = new StreamPublisher(faulty.store, bus, new ManualClock(T0), logger);
        const heard: Heard[] = [];
        publisher.attach({
          broadcast(type, payload: StreamPayload) {
            heard.push({ type, eventId: payload.eventId, subject: 'incident' in payload ? payload.incident.entity : payload.anomaly.entity });
          },
        });
        const published: { type: string; entity: string; eventId: string }[] = [];
        await bus.subscribe({ topic: TOPICS.incidents, groupId: uniqueName('webhooks') }, async (messages) => {
          for (const m of messages) {
            const e = JSON.parse(m.value) as { type: string; eventId: string; incident: { entity: string } };
            published.push({ type: e.type, entity: e.incident.entity, eventId: e.eventId });
          }
        });
        const process = new ProcessAnomalies(faulty.store, DEFAULT_INCIDENT_POLICY, publisher, logger, new MetricsService(uniqueName('alert')));
        const topic = uniqueName('anomalies');
        const config = loadConfig({ VIGIL_MODE: 'standalone', LOG_LEVEL: 'silent' });
        consumer = new AnomaliesConsumer(bus, config, logger, process, { topic, groupId: uniqueName('alert') });
        await consumer.onApplicationBootstrap();
        const produce = (a: Anomaly) => bus.publish(topic, [{ key: anomalyKey(a), value: JSON.stringify(a) }]);
        const tenant = uniqueName('tenant');
        const anomaly = (entity: string) => anAnomaly({ tenant, entity, windowStart: T0, windowEnd: T0 + MIN, detectedAt: T0 + MIN, severity: 'high' });

        await produce(anomaly('198.51.100.7'));
        await waitFor(async () => heard.some((h) => h.type === 'incident.opened' && h.subject === '198.51.100.7'), { timeoutMs: 20_000, what: 'incident.opened of the failed batch' });
        // A later anomaly of another entity, heard after the first: nothing of the first batch is still on its way.
        await produce(anomaly('198.51.100.8'));
        await waitFor(async () => heard.some((h) => h.type === 'incident.opened' && h.subject === '198.51.100.8'), { timeoutMs: 20_000, what: 'incident.opened of the later batch' });

        expect(faulty.failures()).toBe(1);
        const first = heard.filter((h) => h.subject === '198.51.100.7');
        expect(first.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened']);
        expect(published.filter((p) => p.entity === '198.51.100.7').map((p) => p.type)).toEqual(['incident.opened']);
        const log = await store.streamEvents.listAfter({ tenant });
        expect(log.filter((r) => r.entity === '198.51.100.7').map((r) => [r.type, r.eventId])).toEqual(first.map((h) => [h.type, h.eventId]));
        const [incident] = (await store.incidents.list({ tenant, entity: '198.51.100.7' })).items;
        expect(incident).toMatchObject({ status: 'open', anomalyCount: 1, revision: 1 });
        expect(published.find((p) => p.entity === '198.51.100.7')?.eventId).toBe(first[1]?.eventId);
      });
    });
  },
  { prefix: 'vigil_outbox', now: T0 },
);
