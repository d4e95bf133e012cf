import { ConfigError, DEV_HASH_KEY_PLACEHOLDER, loadConfig } from './config.js';

const DISTRIBUTED = {
  VIGIL_MODE: 'distributed',
  KAFKA_BROKERS: 'k1:9092, k2:9092',
  CLICKHOUSE_URL: 'http://ch:8123',
  REDIS_URL: 'redis://redis:6379',
  VIGIL_HASH_KEY: 'a-shared-hash-key-of-32-characters',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected loadConfig to fail');
}

describe(loadConfig.name, () => {
  describe('standalone defaults', () => {
    it('runs everything in one process on port 8080 with data in .data/', () => {
      const config = loadConfig({});
      expect(config).toMatchObject({
        mode: 'standalone',
        http: { host: '0.0.0.0', port: 8080 },
        dataDir: '.data',
        tenant: 'default',
        bus: { kind: 'inprocess' },
        store: { kind: 'sqlite', path: '.data/vigil.sqlite' },
        queue: { kind: 'sqlite', path: '.data/vigil.sqlite' },
        redisUrl: null,
        log: { level: 'info', pretty: false },
        shutdownTimeoutMs: 15000,
        retentionDays: 30,
      });
    });

    it('leaves the hash key to be generated per data dir', () => {
      expect(loadConfig({}).hashKey).toBe(DEV_HASH_KEY_PLACEHOLDER);
    });

    it('treats empty variables as unset', () => {
      expect(loadConfig({ PORT: '', VIGIL_MODE: '' })).toMatchObject({ mode: 'standalone', http: { port: 8080 } });
    });

    it('puts the SQLite file under VIGIL_DATA_DIR', () => {
      expect(loadConfig({ VIGIL_DATA_DIR: '/var/lib/vigil' }).store).toEqual({ kind: 'sqlite', path: '/var/lib/vigil/vigil.sqlite' });
    });
  });

  describe('distributed mode', () => {
    it('uses Kafka, ClickHouse and BullMQ with the brokers split on commas', () => {
      const config = loadConfig(DISTRIBUTED);
      expect(config.bus).toEqual({ kind: 'kafka', brokers: ['k1:9092', 'k2:9092'], clientId: 'vigil', groupPrefix: 'vigil' });
      expect(config.store).toEqual({ kind: 'clickhouse', url: 'http://ch:8123', user: 'default', password: '', database: 'vigil' });
      expect(config.queue).toEqual({ kind: 'bullmq', redisUrl: 'redis://redis:6379' });
      expect(config.hashKey).toBe(DISTRIBUTED.VIGIL_HASH_KEY);
    });

    it.each(['KAFKA_BROKERS', 'CLICKHOUSE_URL', 'REDIS_URL', 'VIGIL_HASH_KEY'])('fails naming %s when it is missing', (name) => {
      const problems = problemsOf({ ...DISTRIBUTED, [name]: undefined });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${name} is required`));
    });

    it('lets one adapter be overridden (e.g. SQLite store with a Kafka bus)', () => {
      const config = loadConfig({ ...DISTRIBUTED, CLICKHOUSE_URL: undefined, VIGIL_STORE: 'sqlite' });
      expect(config.store.kind).toBe('sqlite');
      expect(config.bus.kind).toBe('kafka');
    });
  });

  describe('malformed values', () => {
    it.each([
      ['PORT', 'notaport'],
      ['PORT', '70000'],
      ['SHUTDOWN_TIMEOUT_MS', '0'],
      ['LOG_LEVEL', 'loud'],
      ['VIGIL_MODE', 'cluster'],
      ['CLICKHOUSE_DATABASE', 'vigil; DROP TABLE x'],
      ['REDIS_URL', 'http://redis:6379'],
    ])('fails naming %s = %p and showing the value', (name, value) => {
      const problems = problemsOf({ [name]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]?.startsWith(`${name} `)).toBe(true);
      expect(problems[0]).toContain(JSON.stringify(value));
    });

    it('reports every problem at once, in the error message too', () => {
      try {
        loadConfig({ PORT: 'x', LOG_LEVEL: 'loud' });
        throw new Error('expected loadConfig to fail');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).message).toMatch(/PORT[^\n]*\n[^\n]*LOG_LEVEL|LOG_LEVEL[^\n]*\n[^\n]*PORT/);
      }
    });
  });

  describe('secrets in errors', () => {
    it('names a malformed VIGIL_HASH_KEY but shows [redacted] instead of its value', () => {
      const problems = problemsOf({ VIGIL_HASH_KEY: 'short-secret' });
      expect(problems).toEqual([expect.stringMatching(/^VIGIL_HASH_KEY .*\(got "\[redacted\]"\)$/)]);
      expect(problems.join('\n')).not.toContain('short-secret');
    });

    it('never echoes a password when other variables are wrong', () => {
      let message = '';
      try {
        loadConfig({ VIGIL_MODE: 'distributed', CLICKHOUSE_PASSWORD: 'hunter2-password' });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('KAFKA_BROKERS');
      expect(message).not.toContain('hunter2-password');
    });
  });
});
