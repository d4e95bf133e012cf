import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { crc32c, kafkajsEncodingPatched } from './kafkajs-encoding.js';

const require = createRequire(import.meta.url);
/** kafkajs's own byte-at-a-time CRC-32C (the module the patch leaves in place and bypasses). */
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

describe('crc32c', () => {
  it('gives the CRC-32C check value of "123456789" (0xE3069283) and 0 for no bytes', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it("agrees with kafkajs's CRC-32C on every length up to 70 bytes and on large random buffers", () => {
    for (let n = 0; n <= 70; n++) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(kafkajsCrc32c(b));
    }
    for (const n of [1023, 4096, 65_537, 1_000_003]) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(kafkajsCrc32c(b));
      // a view into a larger buffer at an odd offset, as record batches are
      const view = b.subarray(3, n - 5);
      expect(crc32c(view)).toBe(kafkajsCrc32c(view));
    }
  });
});

describe('kafkajs encoding patches', () => {
  it('encode a produce record batch with every record in order and the CRC-32C of its bytes', async () => {
    expect(kafkajsEncodingPatched).toEqual({ encoder: true, crc: true });
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
      RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
    };
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => object;
    const messages = Array.from({ length: 300 }, (_, i) => ({
      offsetDelta: i,
      timestampDelta: i,
      key: Buffer.from(`key-${i}`),
      value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(i * 7) })),
      headers: i % 3 === 0 ? { reason: `r${i}` } : {},
    }));
    const records = messages.map(Record);
    const batch = (await RecordBatch({ firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_299, lastOffsetDelta: 299, records })).buffer;
    // RecordBatch v2 layout: baseOffset(8) length(4) partitionLeaderEpoch(4) magic(1) crc(4), CRC over what follows
    expect(batch.readInt8(16)).toBe(2);
    const crc = batch.readUInt32BE(17);
    expect(crc).toBe(kafkajsCrc32c(batch.subarray(21)));
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    // every record's value is in the batch, in order
    let at = 0;
    for (const r of messages) {
      const found = batch.indexOf(r.value, at);
      expect(found).toBeGreaterThan(at);
      at = found + r.value.length;
    }
  });
});
