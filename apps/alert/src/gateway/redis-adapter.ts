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
export async function openRedisAdapter(
  redisUrl: string,
  prefix: string,
  onError: (err: Error) => void = () => undefined,
): Promise<RedisAdapterHandle> {
  // Not awaited: with Redis down the service still starts (its /health says degraded) and the clients keep
  // reconnecting; broadcasts reach other instances once Redis is back.
  const pub = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  pub.on('error', onError);
  sub.on('error', onError);
  return {
    adapter: createAdapter(pub, sub, { key: `${prefix}:socket.io` }),
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
