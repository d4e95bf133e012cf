import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { jest } from '@jest/globals';
import { ManualClock, SqliteStore } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { checkpointStoreContract, testEndpoints, uniqueName } from '@vigil/testing';

/** Detector checkpoints (Store port, 0005_checkpoints) through both adapters: SQLite and the real ClickHouse. */
jest.setTimeout(60_000);

const sqliteRoot = mkdtempSync(join(tmpdir(), 'vigil-checkpoint-contract-'));
afterAll(() => rmSync(sqliteRoot, { recursive: true, force: true }));
checkpointStoreContract('sqlite', async () => new SqliteStore({ path: join(sqliteRoot, uniqueName('store'), 'vigil.sqlite'), clock: new ManualClock(0) }));

const databases: string[] = [];
afterEach(async () => {
  if (!databases.length) return;
  const admin = createClient({ url: testEndpoints().clickhouseUrl, username: 'default', password: '' });
  for (const db of databases.splice(0)) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});
checkpointStoreContract('clickhouse', async () => {
  const database = uniqueName('vigil_checkpoints');
  databases.push(database);
  return new ClickHouseStore({ url: testEndpoints().clickhouseUrl, user: 'default', password: '', database, clock: new ManualClock(0) });
});
