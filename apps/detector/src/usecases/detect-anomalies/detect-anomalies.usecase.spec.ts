import { describe, expect, it } from '@jest/globals';
import { MetricsService, type Checkpoint, type CheckpointKey, type EventBus, type Store, type VigilConfig } from '@vigil/platform';
import { anAccessEvent } from '@vigil/testing';
import pino from 'pino';
import { DEFAULT_DETECTORS_CONFIG } from '../../detectors/detector-config.js';
import { DetectAnomalies } from './detect-anomalies.usecase.js';

const settings: VigilConfig['detector'] = {
  configPath: 'config/detectors.yaml',
  windowMs: 60_000,
  latenessMs: 10_000,
  maxEntities: 10_000,
  idleTtlMs: 86_400_000,
  checkpointIntervalMs: 60_000,
  checkpointEveryEvents: 1,
  accessEventsTopic: 'events',
  rekeyTopic: 'rekeyed',
  anomaliesTopic: 'anomalies',
};

/** A store whose checkpoint table holds what was put, and whose next `failures.next` reads fail. */
function checkpointStore(failures: { next: number }): { store: Store; reads: () => number } {
  const rows = new Map<string, Checkpoint>();
  const k = (c: CheckpointKey) => `${c.consumerGroup}/${c.topic}/${c.partition}`;
  let reads = 0;
  const checkpoints = {
    put: async (c: Checkpoint) => void rows.set(k(c), c),
    get: async (key: CheckpointKey) => {
      reads += 1;
      if (failures.next > 0 && failures.next--) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
      return rows.get(k(key)) ?? null;
    },
  };
  const anomalies = { insert: async () => undefined };
  return { store: { checkpoints, anomalies } as unknown as Store, reads: () => reads };
}

const bus = { publish: async () => undefined } as unknown as EventBus;
const usecase = (store: Store) => new DetectAnomalies({ bus, store, settings, detectors: DEFAULT_DETECTORS_CONFIG, groupPrefix: 'g', logger: pino({ level: 'silent' }), durableOffsets: true });

describe(DetectAnomalies.name, () => {
  describe('assigned', () => {
    it('waits for a store that fails and restores the checkpoint instead of starting the partition cold', async () => {
      const failures = { next: 0 };
      const { store, reads } = checkpointStore(failures);
      // a previous owner learned one IP on partition 0 of the access events and checkpointed it
      const before = usecase(store);
      await before.assigned('access', [0]);
      const events = Array.from({ length: 5 }, (_, i) => ({ topic: 'events', partition: 0, offset: String(i), key: null, value: JSON.stringify(anAccessEvent({ ts: 1_700_000_000_000 + i * 1_000 })), headers: {}, timestamp: 0 }));
      await before.handleAccessEvents(events, 0);
      expect(before.counters.checkpoints).toBeGreaterThan(0);

      failures.next = 2;
      const after = usecase(store);
      const seeks = await after.assigned('access', [0]);

      // the windows are still open, so the restore replays from their first offset
      expect({ restored: after.counters.restored, seeks, reads: reads() }).toEqual({ restored: 1, seeks: { 0: '0' }, reads: 1 + 3 });
    });
  });
});

describe('handleAccessEvents decoding', () => {
  /** Runs the messages through a fresh detector; what it published (re-keyed partials) and stored (anomalies). */
  async function run(messages: { value: string }[]) {
    const published: unknown[] = [];
    const stored: unknown[] = [];
    const recordingBus = { publish: async (_topic: string, ms: { value: string }[]) => void published.push(...ms.map((m) => JSON.parse(m.value))) } as unknown as EventBus;
    const { store } = checkpointStore({ next: 0 });
    (store as unknown as { anomalies: unknown }).anomalies = { insert: async (as: unknown[]) => void stored.push(...as) };
    const d = new DetectAnomalies({ bus: recordingBus, store, settings: { ...settings, checkpointEveryEvents: 1_000_000 }, detectors: DEFAULT_DETECTORS_CONFIG, groupPrefix: 'g', logger: pino({ level: 'silent' }), durableOffsets: true });
    await d.assigned('access', [0]);
    await d.handleAccessEvents(
      messages.map((m, i) => ({ topic: 'events', partition: 0, offset: String(i), key: null, value: m.value, headers: {}, timestamp: 0 })),
      0,
    );
    // partials name the batch's last offset, which differs between the two forms of the same events
    const partials = published.map((p) => ({ ...(p as object), source: undefined }));
    return { counters: d.counters, partials, stored };
  }

  it('reads an envelope of events as it reads the same events one per message, skipping only the invalid ones', async () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      anAccessEvent({ ts: 1_700_000_000_000 + i * 500, clientIp: '203.0.113.9', tokenId: 'tok-1', ...(i === 7 ? { path: "/v1/search/' OR 1=1--", query: "q=' UNION SELECT password FROM users--" } : {}) }),
    );
    const single = await run(events.map((e) => ({ value: JSON.stringify(e) })));
    const enveloped = await run([
      { value: JSON.stringify(events[0]) },
      { value: JSON.stringify({ v: 1, kind: 'access-events', events: [...events.slice(1, 20), { ...events[3], status: 42 }] }) },
      { value: 'not json' },
      { value: JSON.stringify({ v: 1, kind: 'access-events', events: events.slice(20) }) },
    ]);
    expect(single.counters).toMatchObject({ events: 30, invalid: 0 });
    expect(enveloped.counters).toMatchObject({ events: 30, invalid: 2 });
    expect(single.partials.length).toBeGreaterThan(0);
    expect(single.stored.length).toBeGreaterThan(0);
    expect(enveloped.partials).toEqual(single.partials);
    expect(enveloped.stored).toEqual(single.stored);
  });
});

describe('late events', () => {
  it('counts access events whose window had already closed, in its counters and in vigil_detector_late_events_total', async () => {
    const metrics = new MetricsService('detector');
    const { store } = checkpointStore({ next: 0 });
    const d = new DetectAnomalies({ bus, store, settings: { ...settings, checkpointEveryEvents: 1_000_000 }, detectors: DEFAULT_DETECTORS_CONFIG, groupPrefix: 'g', logger: pino({ level: 'silent' }), durableOffsets: true, metrics });
    await d.assigned('access', [0]);
    const t0 = Date.UTC(2024, 2, 12, 9, 0, 0);
    const msg = (offset: number, ts: number) => ({ topic: 'events', partition: 0, offset: String(offset), key: null, value: JSON.stringify(anAccessEvent({ ts })), headers: {}, timestamp: 0 });
    // minute 0, then minute 5 (minute 0 closes: lateness 10 s), then two events of minute 0 again
    await d.handleAccessEvents([msg(0, t0 + 1_000), msg(1, t0 + 5 * 60_000)], 0);
    await d.handleAccessEvents([msg(2, t0 + 2_000), msg(3, t0 + 3_000), msg(4, t0 + 5 * 60_000 + 1_000)], 0);

    expect(d.counters.late).toEqual({ access: 2, rekeyed: 0 });
    expect(await metrics.render()).toMatch(/^vigil_detector_late_events_total\{input="access",service="detector"\} 2$/m);
  });
});
