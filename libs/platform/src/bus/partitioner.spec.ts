import { describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { murmur2, partitionForKey } from './partitioner.js';

const { Partitioners } = kafkajs;

// Keys of every shape the services use, plus byte lengths 0..9 to cover each murmur2 tail case.
const KEYS = [
  '',
  'a',
  'ab',
  'abc',
  'abcd',
  'abcde',
  'tenant-a|203.0.113.7',
  'tenant-a|2001:db8::1',
  'default|10.0.0.1',
  'acme|tok_9f8e7d6c5b4a',
  'gw-kong|/v1/orders/{id}',
  'ключ',
  '鍵🔑',
  'émoji-🚀-key',
  'x'.repeat(257),
  ...Array.from({ length: 40 }, (_, i) => `key-${i}`),
];

function kafkajsPartition(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
  return partitioner({ topic: 't', partitionMetadata: partitionMetadata as never, message: { key, value: 'v' } });
}

describe('partitionForKey', () => {
  it.each([1, 3, 4, 6, 7, 12])('maps every key to the same partition as kafkajs DefaultPartitioner with %i partitions', (partitions) => {
    const ours = KEYS.map((k) => partitionForKey(k, partitions));
    const theirs = KEYS.map((k) => kafkajsPartition(k, partitions));
    expect(ours).toEqual(theirs);
  });

  it('matches the Java client for known keys', () => {
    // Values published for org.apache.kafka.common.utils.Utils.murmur2 (Kafka's own UtilsTest).
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2('abc')).toBe(479470107);
  });

  it('hashes bytes and their UTF-8 string alike', () => {
    expect(murmur2(Buffer.from('鍵🔑', 'utf8'))).toBe(murmur2('鍵🔑'));
  });

  it('spreads distinct keys over every partition', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionForKey(`ip-${i}`, 6)));
    expect([...used].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rejects a partition count below one', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
  });
});
