import { Redis } from 'ioredis';
import { testEndpoints, uniqueName } from '@vigil/testing';

export interface DistributedEnv {
  /** Environment for a service in distributed mode against the real test infrastructure. */
  env: Record<string, string>;
  database: string;
  /** Kafka group prefix, also the BullMQ key prefix. */
  prefix: string;
  /** Drops the ClickHouse database and the Redis keys this environment created. */
  cleanup(): Promise<void>;
}

/**
 * A distributed-mode environment private to one test: its own ClickHouse database and its own Kafka group / Redis
 * key prefix, so parallel runs of any test never share state.
 */
export function distributedEnv(label: string): DistributedEnv {
  const { clickhouseUrl, redisUrl, kafkaBrokers } = testEndpoints();
  const database = uniqueName(`e2e_${label}`).replace(/[^A-Za-z0-9_]/g, '_');
  const prefix = uniqueName(`e2e-${label}`);
  return {
    env: {
      VIGIL_MODE: 'distributed',
      KAFKA_BROKERS: kafkaBrokers.join(','),
      KAFKA_CLIENT_ID: prefix,
      KAFKA_GROUP_PREFIX: prefix,
      CLICKHOUSE_URL: clickhouseUrl,
      CLICKHOUSE_DATABASE: database,
      REDIS_URL: redisUrl,
      VIGIL_HASH_KEY: 'e2e-hash-key-0123456789abcdef',
    },
    database,
    prefix,
    async cleanup() {
      const res = await fetch(clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
      if (!res.ok) throw new Error(`dropping ${database}: ${res.status} ${await res.text()}`);
      const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          if (keys.length) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
