import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, SqliteStore } from '@vigil/platform';
import { storeContract, testEndpoints, uniqueName } from '@vigil/testing';
import { createClient } from '@clickhouse/client';
import { jest } from '@jest/globals';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';

/**
 * Every Store adapter runs the same contract (libs/testing/src/contracts/store.contract.ts).
 * Each case hands the suite a fresh, empty, un-migrated store per test.
 */

// ---- SQLite (standalone mode): one database file per test in a temp dir (the sqlite dir is created by the store).
const sqliteRoot = mkdtempSync(join(tmpdir(), 'vigil-store-contract-'));
afterAll(() => rmSync(sqliteRoot, { recursive: true, force: true }));

storeContract('sqlite', async () => new SqliteStore({ path: join(sqliteRoot, uniqueName('store'), 'vigil.sqlite'), clock: new ManualClock(Date.UTC(2024, 2, 10)) }));

// ---- ClickHouse (distributed mode): one database per test on the real server, dropped after that test.
// Every ClickHouse INSERT writes a part (~30–90 ms on a loaded dev box); tests that seed 30 rows one by one need
// more than Jest's default 5 s.
jest.setTimeout(30_000);
const clickhouseDatabases: string[] = [];
afterEach(async () => {
  if (!clickhouseDatabases.length) return;
  const admin = createClient({ url: testEndpoints().clickhouseUrl, username: 'default', password: '' });
  for (const db of clickhouseDatabases.splice(0)) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});

storeContract('clickhouse', async () => {
  const database = uniqueName('vigil_contract');
  clickhouseDatabases.push(database);
  return new ClickHouseStore({ url: testEndpoints().clickhouseUrl, user: 'default', password: '', database, clock: new ManualClock(Date.UTC(2024, 2, 10)) });
});
