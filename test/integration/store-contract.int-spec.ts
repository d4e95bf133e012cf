import { jest } from '@jest/globals';
import { onBothStoreAdapters, storeContract } from '@vigil/testing';

/**
 * Every Store adapter runs the same contract (libs/testing/src/contracts/store.contract.ts), each test on a fresh,
 * empty, un-migrated store: SQLite (standalone mode), one database file per test; ClickHouse (distributed mode), one
 * database per test on the real server, dropped after that test.
 */
// Every ClickHouse INSERT writes a part (~30–90 ms on a loaded dev box); tests that seed 30 rows one by one need
// more than Jest's default 5 s.
jest.setTimeout(30_000);
onBothStoreAdapters(storeContract, { prefix: 'vigil_contract', now: Date.UTC(2024, 2, 10) });
