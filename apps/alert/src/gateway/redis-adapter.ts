import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

export interface RedisAdapterHandle {
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

/**
 * The socket.io Redis adapter (pub/sub), so broadcasts reach the clients of every alert instance. The channel is
 * prefixed with the deployment's group prefix, so two deployments sharing one Redis stay apart.
 */
export async function openRedisAdapter(redisUrl: string, prefix: string): Promise<RedisAdapterHandle> {
  const pub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, { key: `${prefix}:socket.io` }),
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
