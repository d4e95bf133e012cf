import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
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
    expect(kafkajsEncodingPatched).toEqual({ encoder: true, crc: true, byReference: true, recordBatch: true });
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

/**
 * Encodes produce requests (small, long, multi-byte and Buffer values, headers, several partitions and topics, with
 * and without compression) with the kafkajs that `require` loads; resolves to their bytes, base64, one per line.
 */
const ENCODE_PRODUCE_REQUESTS = `
  const produce = require('kafkajs/src/protocol/requests/produce/v3/request.js');
  const createRequest = require('kafkajs/src/protocol/request.js');
  const ts = 1764400000000;
  const bytes = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff; return b; };
  const messages = (p) => [
    { key: 'k1', value: 'small', timestamp: ts, headers: { a: 'b' } },
    { key: null, value: 'x'.repeat(2047), timestamp: ts + 1 },
    { key: 'k3', value: 'y'.repeat(2048), timestamp: ts + 2 },
    { key: 'k4', value: 'é'.repeat(150000) + p, timestamp: ts + 3, headers: { h: 'h'.repeat(3000), i: ['1', '2'] } },
    { key: Buffer.from('bk'), value: bytes(70000), timestamp: ts + 4 },
    { key: 'k6', value: null, timestamp: ts + 5 },
    ...Array.from({ length: 300 }, (_, i) => ({ key: 'm' + i, value: '{"i":' + i + ',"pad":"' + 'z'.repeat(i * 7) + '"}', timestamp: ts + 6 + i })),
  ];
  const topicData = [
    { topic: 'vigil.a', partitions: [0, 1, 7].map((partition) => ({ partition, messages: messages(partition) })) },
    { topic: 'vigil.b', partitions: [{ partition: 3, messages: messages(3).slice(0, 2) }] },
  ];
  return (async () => {
    const out = [];
    for (const compression of [0, 1]) {
      const request = produce({ acks: -1, timeout: 30000, compression, topicData });
      const encoded = await createRequest({ correlationId: 7, clientId: 'vigil', request });
      const b = encoded.buffer;
      if (encoded.size() !== b.length || !encoded.buffer.equals(b)) throw new Error('size or second read differs');
      out.push(b.toString('base64'));
    }
    return out.join('\\n');
  })();
`;

describe('produce requests encoded by reference', () => {
  it("are byte for byte what kafkajs's own encoders make", async () => {
    expect(kafkajsEncodingPatched.byReference).toBe(true);
    expect(kafkajsEncodingPatched.recordBatch).toBe(true);
    const patched = (await new Function('require', ENCODE_PRODUCE_REQUESTS)(require)) as string;
    // kafkajs unpatched: a plain node process
    const own = execFileSync(process.execPath, ['-e', `(async () => { process.stdout.write(await (function (require) {${ENCODE_PRODUCE_REQUESTS}})(require)); })()`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(own.length).toBeGreaterThan(1_000_000);
    expect(patched === own).toBe(true);
  });
});
