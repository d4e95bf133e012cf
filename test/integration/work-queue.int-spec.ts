import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BullMqWorkQueue, SqliteWorkQueue } from '@vigil/platform';
import { testEndpoints, uniqueName, workQueueContract } from '@vigil/testing';

/** BullMQ on the real Redis: one key prefix for this run, every key under it deleted afterwards. */
const redisUrl = testEndpoints().redisUrl;
const prefix = uniqueName('vigil_wq_test');

workQueueContract(
  BullMqWorkQueue.name,
  async ({ name, retry }) => new BullMqWorkQueue({ redisUrl, name, retry, prefix }),
  {
    cleanup: async () => {
      const redis = new Redis(redisUrl);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  },
);

/** SQLite in a temp dir: all queues of the suite share one file, as they share the store's file in standalone mode. */
const dir = mkdtempSync(join(tmpdir(), 'vigil-wq-'));
const path = join(dir, 'vigil.sqlite');

workQueueContract(SqliteWorkQueue.name, async ({ name, retry }) => new SqliteWorkQueue({ path, name, retry }), {
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
