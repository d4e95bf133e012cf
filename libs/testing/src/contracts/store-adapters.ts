import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { ManualClock, SqliteStore, type Store } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { testEndpoints } from '../endpoints.js';
import { uniqueName } from '../wait-for.js';

export interface StoreAdaptersOptions {
  /** Names the temp dir and the ClickHouse databases (`vigil_audit` → `vigil_audit_<unique>`). */
  prefix: string;
  /** The stores' clock. Default: 2024-03-10T00:00:00Z. */
  now?: number;
}

/**
 * Runs a Store contract suite (`storeContract`, `auditStoreContract`, ...) on both adapters, each test on a fresh,
 * empty, un-migrated store: SQLite with one database file per test in a temp dir (removed after the file), and the
 * real ClickHouse (testEndpoints) with one database per test, dropped after that test. Call at an int-spec's top level.
 */
export function onBothStoreAdapters(contract: (name: string, makeStore: () => Promise<Store>) => void, o: StoreAdaptersOptions): void {
  const clock = () => new ManualClock(o.now ?? Date.UTC(2024, 2, 10));

  const sqliteRoot = mkdtempSync(join(tmpdir(), `${o.prefix}-`));
  afterAll(() => rmSync(sqliteRoot, { recursive: true, force: true }));
  contract('sqlite', async () => new SqliteStore({ path: join(sqliteRoot, uniqueName('store'), 'vigil.sqlite'), clock: clock() }));

  const databases: string[] = [];
  afterEach(async () => {
    if (!databases.length) return;
    const admin = createClient({ url: testEndpoints().clickhouseUrl, username: 'default', password: '' });
    try {
      for (const db of databases.splice(0)) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    } finally {
      await admin.close();
    }
  });
  contract('clickhouse', async () => {
    const database = uniqueName(o.prefix.replace(/\W/g, '_'));
    databases.push(database);
    return new ClickHouseStore({ url: testEndpoints().clickhouseUrl, user: 'default', password: '', database, clock: clock() });
  });
}
