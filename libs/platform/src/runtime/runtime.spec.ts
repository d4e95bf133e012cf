import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { createEventBus, createStore, createWorkQueue } from './adapters.js';
import { withPersistedHashKey } from './process-config.js';

const silent = pino({ level: 'silent' });
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-runtime-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe(withPersistedHashKey.name, () => {
  it('generates a key once per data dir, readable only by the owner, and reuses it on the next boot', () => {
    const dataDir = join(dir, 'data');
    const first = withPersistedHashKey(loadConfig({ VIGIL_DATA_DIR: dataDir }));
    const second = withPersistedHashKey(loadConfig({ VIGIL_DATA_DIR: dataDir }));
    expect(first.hashKey).toMatch(/^[0-9a-f]{64}$/);
    expect(second.hashKey).toBe(first.hashKey);
    expect(readFileSync(join(dataDir, 'hash-key'), 'utf8').trim()).toBe(first.hashKey);
    expect(statSync(join(dataDir, 'hash-key')).mode & 0o777).toBe(0o600);
  });

  it('keeps a key given in VIGIL_HASH_KEY and writes nothing', () => {
    const config = withPersistedHashKey(loadConfig({ VIGIL_DATA_DIR: join(dir, 'unused'), VIGIL_HASH_KEY: 'given-key-0123456789' }));
    expect(config.hashKey).toBe('given-key-0123456789');
    expect(() => statSync(join(dir, 'unused'))).toThrow();
  });
});

describe('adapters for the standalone defaults', () => {
  it('pick the in-process bus, and SQLite for the store and the queue under the data dir', async () => {
    const config = loadConfig({ VIGIL_DATA_DIR: join(dir, 'nested', 'data') });
    const bus = await createEventBus(config, silent);
    const store = await createStore(config);
    const queue = await createWorkQueue<{ n: number }>(config, 'webhook-deliveries', { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 }, silent);
    try {
      expect([bus.kind, store.kind, queue.kind]).toEqual(['inprocess', 'sqlite', 'sqlite']);
      expect(statSync(join(dir, 'nested', 'data', 'vigil.sqlite')).isFile()).toBe(true);
    } finally {
      await queue.close();
      await bus.close();
      await store.close();
    }
  });
});
