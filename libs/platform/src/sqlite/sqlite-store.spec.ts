import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AccessEvent } from '@vigil/contracts';
import { anAccessEvent, anIncident } from '@vigil/testing';
import { ManualClock } from '../clock/clock.js';
import { InvalidCursorError, decodeIncidentCursor, encodeIncidentCursor } from './incident-cursor.js';
import { SqliteStore } from './sqlite-store.js';

describe(SqliteStore.name, () => {
  let dir: string;
  const open: SqliteStore[] = [];
  const storeAt = (path: string, clock = new ManualClock(Date.UTC(2024, 2, 10))): SqliteStore => {
    const s = new SqliteStore({ path, clock });
    open.push(s);
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-sqlite-store-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('constructor', () => {
    it('creates missing parent directories and opens the file in WAL mode', async () => {
      const path = join(dir, 'nested', 'data', 'vigil.sqlite');
      await storeAt(path).migrate();

      const peek = new Database(path, { readonly: true });
      try {
        expect(peek.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        peek.close();
      }
    });
  });

  describe('migrate', () => {
    it('records each applied version with the clock time', async () => {
      const path = join(dir, 'vigil.sqlite');
      await storeAt(path, new ManualClock(1_710_000_000_000)).migrate();

      const peek = new Database(path, { readonly: true });
      try {
        expect(peek.prepare('SELECT version, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all()).toEqual(
          SQLITE_MIGRATIONS.map((m) => ({ version: m.version, appliedAt: 1_710_000_000_000 })),
        );
      } finally {
        peek.close();
      }
    });

    it('applies nothing for a second connection to an already migrated file', async () => {
      const path = join(dir, 'vigil.sqlite');
      expect(await storeAt(path).migrate()).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
      expect(await storeAt(path).migrate()).toEqual([]);
    });
  });

  it('keeps data across close and reopen', async () => {
    const path = join(dir, 'vigil.sqlite');
    const first = storeAt(path);
    await first.migrate();
    const e = anAccessEvent();
    await first.accessEvents.insert([e]);
    await first.close();

    const second = storeAt(path);
    expect(await second.migrate()).toEqual([]);
    expect(await second.accessEvents.list({})).toEqual([e]);
  });

  it('shares the file with another connection that writes its own table (the work queue)', async () => {
    const path = join(dir, 'vigil.sqlite');
    const store = storeAt(path);
    await store.migrate();
    const other = new Database(path);
    try {
      other.pragma('journal_mode = WAL');
      other.exec('CREATE TABLE IF NOT EXISTS other_jobs (id TEXT PRIMARY KEY)');
      const read = other.prepare('SELECT count(*) AS n FROM access_events');
      other.prepare('INSERT INTO other_jobs (id) VALUES (?)').run('job-1');
      await store.accessEvents.insert([anAccessEvent(), anAccessEvent()]);

      expect(read.get()).toEqual({ n: 2 });
      expect(other.prepare('SELECT id FROM other_jobs').all()).toEqual([{ id: 'job-1' }]);
    } finally {
      other.close();
    }
  });

  it('rejects a whole batch when one record cannot be stored', async () => {
    const store = storeAt(join(dir, 'vigil.sqlite'));
    await store.migrate();
    const broken = { ...anAccessEvent(), latencyMs: 'slow' } as unknown as AccessEvent;

    // toMatchObject, not toThrow: better-sqlite3's native binding keeps the SqliteError class of the first Jest
    // module registry that loaded it in this worker, so for later test files its errors come from another realm.
    await expect(store.accessEvents.insert([anAccessEvent(), broken])).rejects.toMatchObject({ message: expect.stringMatching(/latency_ms/) });
    expect(await store.accessEvents.count({})).toBe(0);
  });

  it('stores a batch of 5000 events', async () => {
    const store = storeAt(join(dir, 'vigil.sqlite'));
    await store.migrate();
    await store.accessEvents.insert(Array.from({ length: 5000 }, () => anAccessEvent()));
    expect(await store.accessEvents.count({})).toBe(5000);
  });

  it.each([0, -1, 2.5])('rejects limit %p', async (limit) => {
    const store = storeAt(join(dir, 'vigil.sqlite'));
    await store.migrate();
    await expect(store.accessEvents.list({ limit })).rejects.toThrow(RangeError);
  });

  it('rejects a negative retention', async () => {
    const store = storeAt(join(dir, 'vigil.sqlite'));
    await store.migrate();
    await expect(store.dropOlderThan(-1, Date.UTC(2024, 2, 10))).rejects.toThrow(RangeError);
  });

  it('rejects a forged cursor with InvalidCursorError', async () => {
    const store = storeAt(join(dir, 'vigil.sqlite'));
    await store.migrate();
    await store.incidents.upsert(anIncident());
    const forged = Buffer.from(JSON.stringify(['yesterday', 'inc-1'])).toString('base64url');
    await expect(store.incidents.list({ cursor: forged })).rejects.toThrow(InvalidCursorError);
  });

  describe('health', () => {
    it('is ok while open and not ok once closed', async () => {
      const store = storeAt(join(dir, 'vigil.sqlite'));
      expect(await store.health()).toEqual({ name: 'sqlite', ok: true });
      await store.close();
      expect(await store.health()).toEqual({ name: 'sqlite', ok: false, detail: 'closed' });
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
});

describe('incident cursor', () => {
  it('round-trips lastSeen and id', () => {
    const c = { lastSeen: 1_710_000_000_123, id: 'inc-ü/?&=' };
    expect(decodeIncidentCursor(encodeIncidentCursor(c))).toEqual(c);
  });
  it.each(['', 'not-base64-json', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1.5,"x"]').toString('base64url')])(
    'rejects %p',
    (cursor) => {
      expect(() => decodeIncidentCursor(cursor)).toThrow(InvalidCursorError);
    },
  );
});
