import { describe, expect, it } from '@jest/globals';
import type { Checkpoint, CheckpointKey, EventBus, Store, VigilConfig } from '@vigil/platform';
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
