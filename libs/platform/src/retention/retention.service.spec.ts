import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { anAccessEvent } from '@vigil/testing';
import { ManualClock } from '../clock/clock.js';
import { loadConfig } from '../config/config.js';
import { SqliteStore } from '../sqlite/sqlite-store.js';
import { RetentionService } from './retention.service.js';

describe(RetentionService.name, () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'vigil-retention-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('drops the days older than RETENTION_DAYS and keeps the rest', async () => {
    const day = 86_400_000;
    const now = Date.UTC(2026, 10, 28, 12);
    const store = new SqliteStore({ path: join(dir, 'v.sqlite') });
    await store.migrate();
    const old = anAccessEvent({ tenant: 'r', ts: now - 10 * day });
    const recent = anAccessEvent({ tenant: 'r', ts: now - 2 * day });
    await store.accessEvents.insert([old, recent]);
    const config = loadConfig({ RETENTION_DAYS: '7', VIGIL_DATA_DIR: dir });
    const service = new RetentionService(store, new ManualClock(now), config, pino({ level: 'silent' }));

    expect(await service.runOnce()).toEqual(['20261118']);
    expect((await store.accessEvents.list({ tenant: 'r' })).map((e) => e.id)).toEqual([recent.id]);
    expect(await service.runOnce()).toEqual([]);
    await store.close();
  });
});
