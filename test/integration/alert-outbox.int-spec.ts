import { jest } from '@jest/globals';
import { anomalyKey, TOPICS, type Anomaly, type StreamEventType } from '@vigil/contracts';
import { InProcessEventBus, loadConfig, ManualClock, MetricsService, type EventBus, type Principal, type Store } from '@vigil/platform';
import { anAnomaly, onBothStoreAdapters, uniqueName, waitFor } from '@vigil/testing';
import { AnomaliesConsumer } from '@vigil/alert/anomalies/anomalies.consumer';
import { StreamPublisher, type StreamPayload } from '@vigil/alert/gateway/stream-publisher';
import { DEFAULT_INCIDENT_POLICY } from '@vigil/alert/incidents/incident-grouper';
import { ProcessAnomalies } from '@vigil/alert/incidents/process-anomalies.usecase';
import { ChangeIncidentStatus } from '@vigil/alert/incidents/change-incident-status.usecase';
import { DEFAULT_OUTBOX_RELAY_TIMING, OutboxRelay } from '@vigil/alert/incidents/outbox-relay';
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

/** The bus as is, except that the first publish on the incidents topic once `arm`ed fails. */
function failingNextIncidentPublish(bus: EventBus): { bus: EventBus; arm: () => void; failures: () => number } {
  let failures = 0;
  let armed = false;
  const wrapped = new Proxy(bus, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: Parameters<EventBus['publish']>) => {
        if (args[0] === TOPICS.incidents && armed) {
          armed = false;
          failures += 1;
          throw new Error('injected: broker unavailable');
        }
        return target.publish(...args);
      };
    },
  });
  return { bus: wrapped, arm: () => (armed = true), failures: () => failures };
}

onBothStoreAdapters(
  (name, makeStore) => {
    describe(`${OutboxRelay.name} after a status change whose webhook publish failed (${name})`, () => {
      let store: Store;
      let bus: InProcessEventBus;

      beforeEach(async () => {
        store = await makeStore();
        await store.migrate();
        bus = new InProcessEventBus();
      });
      afterEach(async () => {
        await bus.close();
        await store.close();
      });

      it('delivers the acknowledgement exactly once under its original event id: one broadcast, one log record, one webhook message', async () => {
        const clock = new ManualClock(T0 + 5 * MIN);
        const faulty = failingNextIncidentPublish(bus);
        const publisher = new StreamPublisher(store, faulty.bus, clock, logger);
        const heard: Heard[] = [];
        publisher.attach({
          broadcast(type, payload: StreamPayload) {
            heard.push({ type, eventId: payload.eventId, subject: 'incident' in payload ? payload.incident.entity : payload.anomaly.entity });
          },
        });
        const published: { type: string; eventId: string; status: string }[] = [];
        await bus.subscribe({ topic: TOPICS.incidents, groupId: uniqueName('webhooks') }, async (messages) => {
          for (const m of messages) {
            const e = JSON.parse(m.value) as { type: string; eventId: string; incident: { status: string } };
            published.push({ type: e.type, eventId: e.eventId, status: e.incident.status });
          }
        });
        const tenant = uniqueName('tenant');
        const process = new ProcessAnomalies(store, DEFAULT_INCIDENT_POLICY, publisher, logger, new MetricsService(uniqueName('alert')));
        await process.execute([anAnomaly({ tenant, entity: '198.51.100.9', windowStart: T0, windowEnd: T0 + MIN, detectedAt: T0 + MIN, severity: 'high' })]);
        const [opened] = (await store.incidents.list({ tenant, entity: '198.51.100.9' })).items;
        if (!opened) throw new Error('the anomaly opened no incident');
        const relay = new OutboxRelay(store, faulty.bus, clock, publisher, logger, DEFAULT_OUTBOX_RELAY_TIMING);
        const change = new ChangeIncidentStatus(store, faulty.bus, clock, DEFAULT_INCIDENT_POLICY, publisher, relay);
        const principal: Principal = { keyId: 'key-ops', tenant, role: 'operator', scopes: ['incidents:write'] };
        heard.length = 0;
        faulty.arm();
        const acked = await change.execute(principal, opened.id, 'acknowledge', 'on it');

        expect(acked).toMatchObject({ status: 'acknowledged' });
        expect(faulty.failures()).toBe(1);
        expect(heard.map((h) => h.type)).toEqual(['incident.updated']);
        clock.advance(DEFAULT_OUTBOX_RELAY_TIMING.graceMs);
        expect(await relay.pass()).toMatchObject({ published: 1, sent: 0 });
        expect(await relay.pass()).toMatchObject({ published: 0, sent: 0 });
        await waitFor(async () => published.some((p) => p.status === 'acknowledged'), { timeoutMs: 20_000, what: 'the acknowledgement on the incidents topic' });

        expect(heard.map((h) => h.type)).toEqual(['incident.updated']);
        expect(published.filter((p) => p.status === 'acknowledged')).toEqual([{ type: 'incident.updated', eventId: heard[0]?.eventId, status: 'acknowledged' }]);
        const log = await store.streamEvents.listAfter({ tenant });
        expect(log.filter((r) => r.eventId === heard[0]?.eventId)).toHaveLength(1);
        await publisher.flushSettled(); // the anomaly batch's done marks, held for a shared write
        expect(await store.outbox.pending({})).toEqual([]);
        expect(await store.incidents.get(opened.id)).toMatchObject({ status: 'acknowledged', revision: 2 });
      });
    });

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
