import { TOPICS, type Anomaly, type StreamEventType } from '@vigil/contracts';
import { InProcessEventBus, ManualClock, MetricsService, SqliteStore, type EventBus } from '@vigil/platform';
import { anAnomaly, waitFor } from '@vigil/testing';
import pino from 'pino';
import { StreamPublisher, type StreamPayload } from '../gateway/stream-publisher.js';
import { DEFAULT_INCIDENT_POLICY } from './incident-grouper.js';
import { KeyedSequencer, ProcessAnomalies } from './process-anomalies.usecase.js';

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const MIN = 60_000;

/** What a socket client would have been able to read back at the moment each event was broadcast. */
interface Heard {
  type: StreamEventType;
  eventId: string;
  loggedAtBroadcast: boolean;
  incidentRevisionAtBroadcast: number | null;
}

/** A bus whose publishes on the incidents topic wait for `open()`, or fail when `fail` is set. */
function gatedIncidentsBus(bus: EventBus) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const state = { fail: false, waiting: 0 };
  const wrapped: EventBus = new Proxy(bus, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
      return async (...args: Parameters<EventBus['publish']>) => {
        if (args[0] === TOPICS.incidents) {
          state.waiting += 1;
          await gate;
          if (state.fail) throw new Error('injected: broker unavailable');
        }
        return target.publish(...args);
      };
    },
  });
  return { bus: wrapped, open, state };
}

async function setup(wrapBus: (bus: EventBus) => EventBus = (b) => b) {
  const store = new SqliteStore({ path: ':memory:', clock: new ManualClock(T0) });
  await store.migrate();
  const bus = new InProcessEventBus();
  const logger = pino({ level: 'silent' });
  const publisher = new StreamPublisher(store, wrapBus(bus), new ManualClock(T0), logger);
  const heard: Heard[] = [];
  const pending: Promise<void>[] = [];
  publisher.attach({
    broadcast(type, payload: StreamPayload) {
      // Both reads start here, and SQLite answers them synchronously underneath: the state at the time of the broadcast.
      const reads = Promise.all([store.streamEvents.listAfter({}), 'incident' in payload ? store.incidents.get(payload.incident.id) : null]);
      pending.push(
        reads.then(([log, incident]) => {
          heard.push({ type, eventId: payload.eventId, loggedAtBroadcast: log.some((r) => r.eventId === payload.eventId), incidentRevisionAtBroadcast: incident?.revision ?? null });
        }),
      );
    },
  });
  const process = new ProcessAnomalies(store, DEFAULT_INCIDENT_POLICY, publisher, logger, new MetricsService('alert-spec'));
  return { store, bus, publisher, process, heard, settled: () => Promise.all(pending) };
}

const burst = (entity: string, n: number): Anomaly[] =>
  Array.from({ length: n }, (_, k) =>
    anAnomaly({ tenant: 'acme', entity, windowStart: T0 + k * MIN, windowEnd: T0 + (k + 1) * MIN, detectedAt: T0 + (k + 1) * MIN, severity: 'medium' }),
  );

describe(ProcessAnomalies.name, () => {
  it('writes one incident per entity at the revision of all its anomalies when a batch holds several of them', async () => {
    const { store, process } = await setup();
    const out = await process.execute([...burst('198.51.100.1', 3), ...burst('198.51.100.2', 2)]);
    expect(out.incidents).toBe(2);
    const page = await store.incidents.list({ tenant: 'acme' });
    const byEntity = new Map(page.items.map((i) => [i.entity, i]));
    expect(byEntity.get('198.51.100.1')).toMatchObject({ anomalyCount: 3, revision: 3 });
    expect(byEntity.get('198.51.100.2')).toMatchObject({ anomalyCount: 2, revision: 2 });
    expect(page.items).toHaveLength(2);
  });

  it('broadcasts only what a client can read back: every event is logged and every incident stored first', async () => {
    const { process, heard, settled } = await setup();
    await process.execute(burst('198.51.100.1', 2));
    await settled();
    expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'anomaly.detected', 'incident.opened']);
    expect(heard.every((h) => h.loggedAtBroadcast)).toBe(true);
    expect(heard.find((h) => h.type === 'incident.opened')?.incidentRevisionAtBroadcast).toBe(2);
    const ids = heard.map((h) => h.eventId);
    expect([...ids].sort()).toEqual(ids);
  });

  it('publishes incident changes for webhooks and notifies nobody when the same batch is redelivered', async () => {
    const { bus, process, heard, settled } = await setup();
    const published: string[] = [];
    await bus.subscribe({ topic: TOPICS.incidents, groupId: 'spec' }, async (messages) => {
      for (const m of messages) published.push((JSON.parse(m.value) as { type: string }).type);
    });
    const batch = burst('198.51.100.1', 2);
    await process.execute(batch);
    const again = await process.execute(batch);
    await settled();
    expect(again).toMatchObject({ incidents: 0, duplicates: 2, events: [] });
    expect(heard).toHaveLength(3);
    await bus.close();
    expect(published).toEqual(['incident.opened']);
  });

  it('leaves storing the anomalies to the detector, which stores each one before publishing it', async () => {
    const { store, process } = await setup();
    const batch = burst('198.51.100.4', 2);
    await expect(process.execute(batch)).resolves.toMatchObject({ incidents: 1 });
    expect(await store.anomalies.list({ tenant: 'acme' })).toEqual([]);
  });

  it('groups concurrent batches about one entity into one incident, as if they had run one after another', async () => {
    const { store, process } = await setup();
    const [a, b, c] = burst('198.51.100.9', 3) as [Anomaly, Anomaly, Anomaly];
    await Promise.all([process.execute([a]), process.execute([b]), process.execute([c])]);
    const page = await store.incidents.list({ tenant: 'acme' });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ anomalyCount: 3, revision: 3 });
  });

  describe('after the broadcast', () => {
    it('releases the batch once its events are broadcast, then publishes for webhooks and settles the outbox', async () => {
      let gated!: ReturnType<typeof gatedIncidentsBus>;
      const { store, bus, publisher, process, heard, settled } = await setup((b) => (gated = gatedIncidentsBus(b)).bus);
      const published: string[] = [];
      await bus.subscribe({ topic: TOPICS.incidents, groupId: 'spec' }, async (messages) => {
        for (const m of messages) published.push((JSON.parse(m.value) as { type: string }).type);
      });

      const out = await process.execute(burst('198.51.100.1', 1));
      await settled();
      expect(out.events.map((e) => e.type)).toEqual(['incident.opened']);
      expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened']);
      expect(gated.state.waiting).toBe(1);
      expect(await store.outbox.pending({})).toHaveLength(2);

      gated.open();
      await process.onModuleDestroy();
      // Sent, and its done marks held for the next shared write (OutboxSettler): not written yet, written by the flush.
      expect(await store.outbox.pending({})).toHaveLength(2);
      await publisher.flushSettled();
      expect(await store.outbox.pending({})).toEqual([]);
      await waitFor(() => published.length === 1);
      expect(published).toEqual(['incident.opened']);
      await bus.close();
    });

    it('starts a later batch of the same entity only once the earlier one has published', async () => {
      let gated!: ReturnType<typeof gatedIncidentsBus>;
      const { store, publisher, process, heard, settled } = await setup((b) => (gated = gatedIncidentsBus(b)).bus);
      const [a, b] = burst('198.51.100.2', 2) as [Anomaly, Anomaly];
      await process.execute([a]);
      const later = process.execute([b]);
      await new Promise((r) => setImmediate(r));
      await settled();
      expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened']);

      gated.open();
      await later;
      await process.onModuleDestroy();
      await settled();
      expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened', 'anomaly.detected']);
      const [incident] = (await store.incidents.list({ tenant: 'acme', entity: '198.51.100.2' })).items;
      expect(incident).toMatchObject({ anomalyCount: 2, revision: 2 });
      await publisher.flushSettled();
      expect(await store.outbox.pending({})).toEqual([]);
    });

    it('does not send again what it sent and holds the done mark of, when the next batch of the entity reads the outbox first', async () => {
      const { store, publisher, process, heard, settled } = await setup();
      const [a, b] = burst('198.51.100.5', 2) as [Anomaly, Anomaly];
      await process.execute([a]);
      await process.onModuleDestroy();
      // The first batch's two notifications are still pending in the store (their done marks are held) ...
      expect(await store.outbox.pending({})).toHaveLength(2);
      await process.execute([b]);
      await process.onModuleDestroy();
      await settled();
      // ... yet the second batch, which reads them back, sends only its own events.
      expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened', 'anomaly.detected']);
      expect(new Set(heard.map((h) => h.eventId)).size).toBe(3);
      await publisher.flushSettled();
      expect(await store.outbox.pending({})).toEqual([]);
    });

    it("does not send another instance's fresh notifications of the same incident, which that instance is sending", async () => {
      const clock = new ManualClock(T0 + 2 * MIN);
      const store = new SqliteStore({ path: ':memory:', clock });
      await store.migrate();
      const logger = pino({ level: 'silent' });
      const instance = () => {
        const heard: string[] = [];
        const publisher = new StreamPublisher(store, new InProcessEventBus(), clock, logger);
        publisher.attach({ broadcast: (_type, payload: StreamPayload) => void heard.push(payload.eventId) });
        return { heard, publisher, process: new ProcessAnomalies(store, DEFAULT_INCIDENT_POLICY, publisher, logger, new MetricsService('alert-spec')) };
      };
      const a = instance();
      const b = instance();
      const [first, second] = burst('198.51.100.6', 2) as [Anomaly, Anomaly];
      await a.process.execute([first]);
      await a.process.onModuleDestroy();
      // a sent its two events and holds their done marks; b's batch about the same incident reads them as pending.
      expect(await store.outbox.pending({})).toHaveLength(2);
      await b.process.execute([second]);
      await b.process.onModuleDestroy();
      expect(a.heard).toHaveLength(2);
      expect(b.heard).toHaveLength(1);
      expect(b.heard.filter((id) => a.heard.includes(id))).toEqual([]);
    });

    it('leaves the notifications of a batch whose publish failed after its release pending, for the outbox relay', async () => {
      let gated!: ReturnType<typeof gatedIncidentsBus>;
      const { store, process, heard, settled } = await setup((b) => (gated = gatedIncidentsBus(b)).bus);
      gated.state.fail = true;
      await expect(process.execute(burst('198.51.100.3', 1))).resolves.toMatchObject({ incidents: 1 });
      gated.open();
      await process.onModuleDestroy();
      await settled();
      const pending = await store.outbox.pending({});
      expect(pending.map((e) => e.id.split(':')[0]).sort()).toEqual(['anomaly.detected', 'incident.opened']);
      expect(heard.map((h) => h.type)).toEqual(['anomaly.detected', 'incident.opened']);
    });
  });
});

describe(KeyedSequencer.name, () => {
  it('runs tasks sharing a key one after another in call order, and tasks with disjoint keys at once', async () => {
    const seq = new KeyedSequencer();
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const task = (name: string) => () =>
      new Promise<string>((resolve) => {
        log.push(`start ${name}`);
        gates.set(name, () => {
          log.push(`end ${name}`);
          resolve(name);
        });
      });
    const first = seq.run(['x'], task('first'));
    const second = seq.run(['x', 'y'], task('second'));
    const other = seq.run(['z'], task('other'));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start first', 'start other']);
    gates.get('other')!();
    gates.get('first')!();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start first', 'start other', 'end other', 'end first', 'start second']);
    gates.get('second')!();
    await expect(Promise.all([second, other])).resolves.toEqual(['second', 'other']);
    expect(seq.size).toBe(0);
  });

  it('lets the next task run when one fails', async () => {
    const seq = new KeyedSequencer();
    const failed = seq.run(['k'], () => Promise.reject(new Error('boom')));
    const next = seq.run(['k'], async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });
});
