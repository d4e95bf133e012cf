import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { kafkajsDecodingPatched } from './kafkajs-decoding.js';

const require = createRequire(import.meta.url);

/**
 * Encodes record batches with kafkajs's own encoders (small, long, multi-byte, null and Buffer keys and values,
 * headers with duplicates and odd names ('constructor', '__proto__'), negative and large timestamp deltas; gzip; a base offset past 2^53,
 * log-append time, a control batch, a batch cut short), decodes them with the fetch path's decodeMessages of the
 * kafkajs that `require` loads, and resolves to the decoded records as JSON (Buffers as base64).
 */
const DECODE_FETCHED_BATCHES = `
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const Encoder = require('kafkajs/src/protocol/encoder.js');
  const Decoder = require('kafkajs/src/protocol/decoder.js');
  const { Types, lookupCodec } = require('kafkajs/src/protocol/message/compression/index.js');
  const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');
  const ts = 1764400000000;
  const bytes = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff; return b; };
  const messages = () => [
    { key: Buffer.from('k1'), value: Buffer.from('small'), timestamp: ts, headers: { a: Buffer.from('b') } },
    { key: null, value: Buffer.from('x'.repeat(2047)), timestamp: ts - 5000 },
    { key: Buffer.from('k3'), value: null, timestamp: ts + 2 ** 40 },
    { key: Buffer.from('é'.repeat(100)), value: Buffer.from('é'.repeat(150000)), timestamp: ts + 3,
      headers: { h: Buffer.from('h'.repeat(300)), i: [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')], constructor: Buffer.from('c'), __proto__x: Buffer.from('p') } },
    { key: Buffer.alloc(0), value: bytes(70000), timestamp: ts + 4, headers: { e: Buffer.alloc(0) } },
    ...Array.from({ length: 300 }, (_, i) => ({ key: Buffer.from('m' + i), value: Buffer.from('{"i":' + i + ',"pad":"' + 'z'.repeat(i * 7) + '"}'), timestamp: ts + 6 + i * 1000 })),
  ];
  const batch = async (compression, msgs, firstOffset) => {
    const records = msgs.map((m, i) => Record({ offsetDelta: i, timestampDelta: m.timestamp - ts, key: m.key, value: m.value, headers: m.headers }));
    const enc = await RecordBatch({ compression, firstOffset: String(firstOffset), firstTimestamp: ts, maxTimestamp: ts + 2 ** 40, lastOffsetDelta: msgs.length - 1, records });
    return Buffer.from(enc.buffer);
  };
  // a header named '__proto__': patched into the encoded bytes (the encoder takes an object)
  const rename = (b, from, to) => { const at = b.indexOf(Buffer.from(from)); if (at < 0) throw new Error('no ' + from); Buffer.from(to).copy(b, at); return b; };
  return (async () => {
    const out = [];
    const plain = rename(await batch(Types.None, messages(), 0), '__proto__x', '__proto__');
    const zipped = await batch(Types.GZIP, messages(), 1000);
    const far = await batch(Types.None, messages().slice(0, 7), '9007199254740000'); // offsets past 2^53
    const appendTime = await batch(Types.None, messages().slice(0, 4), 5);
    appendTime.writeInt16BE(appendTime.readInt16BE(21) | 0x8, 21); // attributes: log-append time
    const control = await batch(Types.None, messages().slice(0, 3), 9);
    control.writeInt16BE(control.readInt16BE(21) | 0x20 | 0x10, 21); // attributes: control, transactional
    const negativeBase = await batch(Types.None, messages().slice(0, 3), 12);
    negativeBase.writeBigInt64BE(-1n, 27); // firstTimestamp -1 (no timestamp)
    for (const set of [[plain], [zipped], [far], [appendTime, control, negativeBase], [plain, zipped.subarray(0, zipped.length - 10)]]) {
      const bytesOfSet = Buffer.concat(set);
      const e = new Encoder().writeInt32(bytesOfSet.length).writeBuffer(bytesOfSet);
      const records = await decodeMessages(new Decoder(e.buffer));
      out.push(JSON.stringify(records, (k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? 'B:' + Buffer.from(v.data).toString('base64') : v)));
      // the first offsets, timestamps and headers exactly
      out.push(JSON.stringify(records.map((r) => [r.offset, r.timestamp, Object.keys(r.headers), Object.getPrototypeOf(r.headers) === Object.prototype])));
    }
    return out.join('\\n');
  })();
`;

describe('kafkajs record decoding', () => {
  it("decodes fetched record batches field for field as kafkajs's own decoder", async () => {
    expect(kafkajsDecodingPatched.recordBatch).toBe(true);
    const fallbacksBefore = kafkajsDecodingPatched.fallbacks;
    const patched = (await new Function('require', DECODE_FETCHED_BATCHES)(require)) as string;
    // every record was read by the patched decoder, not handed back to kafkajs's (which would hide its mistakes)
    expect(kafkajsDecodingPatched.fallbacks - fallbacksBefore).toBe(0);
    // kafkajs unpatched: a plain node process
    const own = execFileSync(process.execPath, ['-e', `(async () => { process.stdout.write(await (function (require) {${DECODE_FETCHED_BATCHES}})(require)); })()`], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(own.length).toBeGreaterThan(1_000_000);
    const ownLines = own.split('\n');
    const patchedLines = patched.split('\n');
    expect(patchedLines.length).toBe(ownLines.length);
    for (let i = 0; i < ownLines.length; i++) expect(patchedLines[i] === ownLines[i] ? '' : `line ${i} differs: ${patchedLines[i]!.slice(0, 300)} / ${ownLines[i]!.slice(0, 300)}`).toBe('');
    // and the sets decoded something of each kind
    expect(own).toContain('"9007199254740000"');
    expect(own).toContain('"9007199254740006"');
    expect(own).toContain('"isControlRecord":true');
  });
});
