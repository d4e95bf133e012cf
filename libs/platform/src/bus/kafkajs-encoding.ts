import { createRequire } from 'node:module';

/**
 * Two costs of kafkajs 2.2.4's produce path, replaced in place (same results, byte for byte):
 *
 * - Its Encoder grows its buffer with Buffer.alloc, which zero-fills every doubling although only the bytes up to its
 *   offset are ever read (`encoder.buffer` is `buf.slice(0, offset)`, every write lands below the offset it advances
 *   to). A produce request is encoded at three nesting levels (record batch, topic, request), each growing its own
 *   buffer to the next power of two: zero-filling those was ~3 % of the ingest process's CPU in the bench:ingest
 *   profile, and twice that in the bench's producer. Patched: Buffer.allocUnsafe.
 * - Its record-batch CRC-32C is computed a byte at a time in JavaScript (~2 % of ingest's CPU, ~4 % of the bench
 *   producer's). Replaced by `crc32c` below (slicing by 8: eight table lookups per 8 bytes instead of one per byte).
 *
 * kafkajs loads its record-batch encoder lazily, on the first produce, and takes the CRC function then; the CRC is
 * only replaced if that has not happened yet (it has not when this module is imported with the bus). Both patches
 * apply to kafkajs as Node's require loads it (the services, the benchmarks, e2e tests); test runners with a module
 * registry of their own (Jest) load a separate, unpatched copy. `kafkajsEncodingPatched` says what was applied.
 */

const POLY = 0x82f63b78; // CRC-32C (Castagnoli), reflected
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let t = 1; t < 8; t++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[t * 256 + n] = c;
  }
}

/** CRC-32C of `buf` as an unsigned 32-bit integer (what Kafka record batches carry). */
export function crc32c(buf: Uint8Array): number {
  const T = TABLE;
  let crc = -1;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
  }
  for (; i < n; i++) crc = T[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}
interface KafkajsEncoderClass {
  prototype: KafkajsEncoder & { ensureAvailable(length: number): void };
  nextPowerOfTwo(value: number): number;
}

/** What was patched in the kafkajs that Node's require loads (see the module comment). */
export const kafkajsEncodingPatched: { encoder: boolean; crc: boolean } = { encoder: false, crc: false };

function patch(): void {
  const require = createRequire(import.meta.url);
  let version: string;
  try {
    version = (require('kafkajs/package.json') as { version: string }).version;
  } catch {
    return;
  }
  // the internals patched here are those of 2.2.x; another version keeps its own code
  if (!version.startsWith('2.2.')) return;
  const Encoder = require('kafkajs/src/protocol/encoder.js') as KafkajsEncoderClass;
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: KafkajsEncoder, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(bigger, 0, 0, this.offset);
    this.buf = bigger;
  };
  kafkajsEncodingPatched.encoder = true;
  const crcPath = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  const batchPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/index.js');
  if (require.cache[batchPath]) return; // already holds kafkajs's own CRC function
  require(crcPath);
  const entry = require.cache[crcPath];
  if (!entry) return;
  entry.exports = crc32c;
  kafkajsEncodingPatched.crc = true;
}

patch();
