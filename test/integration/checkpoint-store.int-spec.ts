import { jest } from '@jest/globals';
import { checkpointStoreContract, onBothStoreAdapters } from '@vigil/testing';

/** Detector checkpoints (Store port, 0005_checkpoints) through both adapters: SQLite and the real ClickHouse. */
jest.setTimeout(60_000);
onBothStoreAdapters(checkpointStoreContract, { prefix: 'vigil_checkpoints', now: 0 });
