import { TOPICS, type IncidentLifecycleEvent, type StreamEventType } from '@vigil/contracts';
import { ManualClock, SqliteStore, type EventBus, type OutboundMessage, type Principal, type Store } from '@vigil/platform';
import { anIncident } from '@vigil/testing';
import pino from 'pino';
import { StreamPublisher, type StreamPayload } from '../gateway/stream-publisher.js';
import { ChangeIncidentStatus } from './change-incident-status.usecase.js';
import { DEFAULT_INCIDENT_POLICY } from './incident-grouper.js';
import { OutboxRelay, type OutboxRelayTiming } from './outbox-relay.js';

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const TIMING: OutboxRelayTiming = { everyMs: 1_000, graceMs: 30_000, abandonAfterMs: 600_000, batch: 100 };
const principal: Principal = { keyId: 'key-1', tenant: 'acme', role: 'operator', scopes: ['incidents:write'] };

/** A bus whose incident publishes fail `failures` times, then record what they publish. */
function fakeBus(failures: number): EventBus & { published: IncidentLifecycleEvent[] } {
  let left = failures;
  const published: IncidentLifecycleEvent[] = [];
  return {
    kind: 'inprocess',
    published,
    async publish(topic: string, messages: OutboundMessage[]) {
      if (topic !== TOPICS.incidents) return;
      if (left > 0) {
        left -= 1;
        throw new Error('injected: broker unavailable');
      }
      for (const m of messages) published.push(JSON.parse(m.value) as IncidentLifecycleEvent);
    },
    subscribe: () => Promise.reject(new Error('not used')),
    health: async () => ({ status: 'up' as const }),
    close: async () => undefined,
  } as EventBus & { published: IncidentLifecycleEvent[] };
}

/** The store as is, but `incidents.upsert` or `streamEvents.append` fail the next `n` calls when asked. */
function flaky(store: Store) {
  const fail = { upsert: 0, append: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'incidents') {
        return new Proxy(target.incidents, {
          get(t, p) {
            if (p === 'upsert' && fail.upsert > 0) return async () => { fail.upsert -= 1; throw new Error('injected: upsert failed'); };
            return (Reflect.get(t, p) as (...a: unknown[]) => unknown).bind(t);
          },
        });
      }
      if (prop === 'streamEvents') {
        return new Proxy(target.streamEvents, {
          get(t, p) {
            if (p === 'append' && fail.append > 0) return async () => { fail.append -= 1; throw new Error('injected: append failed'); };
            return (Reflect.get(t, p) as (...a: unknown[]) => unknown).bind(t);
          },
        });
      }
      return v;
    },
  });
  return { store: wrapped, fail };
}

async function setup(publishFailures = 0) {
  const clock = new ManualClock(T0);
  const real = new SqliteStore({ path: ':memory:', clock });
  await real.migrate();
  const { store, fail } = flaky(real);
  const bus = fakeBus(publishFailures);
  const logger = pino({ level: 'silent' });
  const publisher = new StreamPublisher(store, bus, clock, logger);
  const heard: { type: StreamEventType; eventId: string }[] = [];
  publisher.attach({ broadcast: (type, payload: StreamPayload) => void heard.push({ type, eventId: payload.eventId }) });
  const relay = new OutboxRelay(store, bus, clock, publisher, logger, TIMING);
  const change = new ChangeIncidentStatus(store, bus, clock, DEFAULT_INCIDENT_POLICY, publisher, relay);
  const incident = anIncident({ tenant: 'acme', firstSeen: T0 - 300_000, lastSeen: T0 - 60_000 });
  await real.incidents.upsert(incident);
  return { clock, store: real, fail, bus, heard, relay, change, incident };
}

describe(OutboxRelay.name, () => {
  it('publishes a status change whose webhook publish failed once, after the grace period, without broadcasting it again', async () => {
    const { clock, store, bus, heard, relay, change, incident } = await setup(1);
    const acked = await change.execute(principal, incident.id, 'acknowledge', 'looking');
    expect(acked).toMatchObject({ status: 'acknowledged', revision: 2 });
    expect(heard.map((h) => h.type)).toEqual(['incident.updated']);
    expect(bus.published).toEqual([]);

    clock.advance(TIMING.graceMs - 1);
    expect(await relay.pass()).toMatchObject({ sent: 0, published: 0 });
    clock.advance(1);
    expect(await relay.pass()).toMatchObject({ sent: 0, published: 1 });
    expect(await relay.pass()).toMatchObject({ sent: 0, published: 0 });

    expect(bus.published.map((m) => [m.type, m.eventId, m.incident.status])).toEqual([['incident.updated', heard[0]?.eventId, 'acknowledged']]);
    expect(heard).toHaveLength(1);
    expect(await store.outbox.pending({})).toEqual([]);
    expect((await store.streamEvents.listAfter({ tenant: 'acme' })).map((r) => r.eventId)).toEqual([heard[0]?.eventId]);
  });

  it('sends a stored status change whose live-event log failed under its original event id, once', async () => {
    const { clock, store, fail, bus, heard, relay, change, incident } = await setup();
    fail.append = 1;
    await change.execute(principal, incident.id, 'resolve', 'fixed');
    expect(heard).toEqual([]);
    const [entry] = await store.outbox.pending({});

    clock.advance(TIMING.graceMs);
    expect(await relay.pass()).toMatchObject({ sent: 1 });
    expect(await relay.pass()).toMatchObject({ sent: 0 });

    expect(heard.map((h) => h.type)).toEqual(['incident.resolved']);
    expect(entry?.payload).toContain(heard[0]?.eventId);
    expect(bus.published.map((m) => [m.type, m.eventId])).toEqual([['incident.resolved', heard[0]?.eventId]]);
    expect((await store.streamEvents.listAfter({ tenant: 'acme' })).map((r) => r.eventId)).toEqual([heard[0]?.eventId]);
  });

  it('never sends a status change whose incident write failed, and cancels it once abandoned', async () => {
    const { clock, store, fail, bus, heard, relay, change, incident } = await setup();
    fail.upsert = 1;
    await expect(change.execute(principal, incident.id, 'acknowledge', 'looking')).rejects.toThrow('injected');
    expect(await store.outbox.pending({})).toHaveLength(1);

    clock.advance(TIMING.graceMs);
    expect(await relay.pass()).toMatchObject({ sent: 0, waiting: 1, cancelled: 0 });
    clock.advance(TIMING.abandonAfterMs);
    expect(await relay.pass()).toMatchObject({ sent: 0, waiting: 0, cancelled: 1 });

    expect(heard).toEqual([]);
    expect(bus.published).toEqual([]);
    expect(await store.outbox.pending({})).toEqual([]);
    expect(await store.incidents.get(incident.id)).toMatchObject({ status: 'open', revision: 1 });
  });

  it('leaves nothing pending after a status change that went through', async () => {
    const { clock, store, bus, heard, relay, change, incident } = await setup();
    await change.execute(principal, incident.id, 'acknowledge', 'looking');
    clock.advance(TIMING.graceMs * 2);
    expect(await relay.pass()).toEqual({ sent: 0, published: 0, cancelled: 0, waiting: 0 });
    expect(heard).toHaveLength(1);
    expect(bus.published).toHaveLength(1);
    expect(await store.outbox.pending({})).toEqual([]);
  });
});
