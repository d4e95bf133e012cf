import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, SqliteStore } from '@vigil/platform';
import { storeContract, uniqueName } from '@vigil/testing';

/**
 * Every Store adapter runs the same contract (libs/testing/src/contracts/store.contract.ts).
 * Each case hands the suite a fresh, empty, un-migrated store per test.
 */

// ---- SQLite (standalone mode): one database file per test in a temp dir (the sqlite dir is created by the store).
const sqliteRoot = mkdtempSync(join(tmpdir(), 'vigil-store-contract-'));
afterAll(() => rmSync(sqliteRoot, { recursive: true, force: true }));

storeContract('sqlite', async () => new SqliteStore({ path: join(sqliteRoot, uniqueName('store'), 'vigil.sqlite'), clock: new ManualClock(Date.UTC(2024, 2, 10)) }));

// ---- ClickHouse (distributed mode): the ClickHouse engineer adds its case here, e.g.
// storeContract('clickhouse', async () => new ClickHouseStore({ url: testEndpoints().clickhouseUrl, database: uniqueName('vigil_contract') }));
