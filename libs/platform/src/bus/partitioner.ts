/**
 * Key → partition mapping shared by both event bus adapters. It is the Java client's (and kafkajs's
 * `Partitioners.DefaultPartitioner`) murmur2 hash, so a key lands on the same partition whichever client
 * produced it, and the in-process bus partitions exactly as Kafka would with the same partition count.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 (32-bit, seed 0x9747b28c) of the UTF-8 bytes of `key`, as a signed 32-bit integer. */
export function murmur2(key: string | Uint8Array): number {
  const data = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest >= 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition of a keyed message, as the Java client and kafkajs's DefaultPartitioner compute it. */
export function partitionForKey(key: string | Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer (got ${partitionCount})`);
  }
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
