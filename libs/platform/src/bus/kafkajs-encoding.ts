import { kafkajs22Require } from './kafkajs-internals.js';

/**
 * Three costs of kafkajs 2.2.4's produce path, replaced in place (same results, byte for byte):
 *
 * - Its Encoder grows its buffer with Buffer.alloc, which zero-fills every doubling although only the bytes up to its
 *   offset are ever read (`encoder.buffer` is `buf.slice(0, offset)`, every write lands below the offset it advances
 *   to). A produce request is encoded at three nesting levels (record batch, topic, request), each growing its own
 *   buffer to the next power of two: zero-filling those was ~3 % of the ingest process's CPU in the bench:ingest
 *   profile, and twice that in the bench's producer. Patched: Buffer.allocUnsafe.
 * - Its record-batch CRC-32C is computed a byte at a time in JavaScript (~2 % of ingest's CPU, ~4 % of the bench
 *   producer's). Replaced by `crc32c` below (slicing by 8: eight table lookups per 8 bytes instead of one per byte).
 * - Every nesting level copies the one below into its own doubling buffer, ~14 copies of each published byte
 *   (`patchByReference`): patched to append nested encoders by reference and concatenate once, at the socket write.
 *   Its record-batch encoder is replaced for uncompressed batches (`recordBatchByReference`: the CRC over the parts).
 *   bench:ingest with kafkajs-socket.ts's reads too, old and new alternating at load 6-11: ingest 39, 41, 41 -> 33,
 *   34, 36 µs of CPU per event; Buffer copies in its profile 2.4 -> 0.56 s (docs/benchmarks.md, Kafka → ClickHouse).
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
  return (crc32cUpdate(-1, buf) ^ -1) >>> 0;
}

/** CRC-32C of several buffers one after the other, as of their concatenation. */
export function crc32cOf(bufs: readonly Uint8Array[]): number {
  let crc = -1;
  for (const b of bufs) crc = crc32cUpdate(crc, b);
  return (crc ^ -1) >>> 0;
}

/** The running (not yet inverted) CRC-32C after `buf`, from the running value `crc` (-1 to start). */
function crc32cUpdate(crc: number, buf: Uint8Array): number {
  const T = TABLE;
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
  return crc;
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  /** Set by the by-reference patch: the bytes before `buf`, in order (see `appendBytes`). */
  parts?: Buffer[] | undefined;
  partsLength?: number;
  ensureAvailable(length: number): void;
  writeInt8(v: number): KafkajsEncoder;
  writeInt16(v: number): KafkajsEncoder;
  writeInt32(v: number): KafkajsEncoder;
  writeUInt32(v: number): KafkajsEncoder;
  writeInt64(v: unknown): KafkajsEncoder;
  writeVarInt(v: number): KafkajsEncoder;
  writeArray(a: unknown[], type?: string): KafkajsEncoder;
  writeEncoder(e: KafkajsEncoder): KafkajsEncoder;
  size(): number;
  readonly buffer: Buffer;
}
interface KafkajsEncoderClass {
  new (): KafkajsEncoder;
  prototype: KafkajsEncoder & Record<string, unknown>;
  nextPowerOfTwo(value: number): number;
}

/** What was patched in the kafkajs that Node's require loads (see the module comment). */
export const kafkajsEncodingPatched: { encoder: boolean; crc: boolean; byReference: boolean; recordBatch: boolean } = {
  encoder: false,
  crc: false,
  byReference: false,
  recordBatch: false,
};

/** Buffers at least this long are appended by reference; shorter ones are copied (as kafkajs copies everything). */
const BY_REFERENCE_MIN = 2048;

function appendBytes(e: KafkajsEncoder, b: Buffer): void {
  const n = b.length;
  if (n < BY_REFERENCE_MIN) {
    e.ensureAvailable(n);
    b.copy(e.buf, e.offset, 0, n);
    e.offset += n;
    return;
  }
  let parts = e.parts;
  if (parts === undefined) {
    parts = e.parts = [];
    e.partsLength = 0;
  }
  if (e.offset > 0) {
    // what was written so far becomes a part; writing goes on in the rest of the same memory
    parts.push(e.buf.subarray(0, e.offset));
    e.partsLength! += e.offset;
    e.buf = e.buf.subarray(e.offset);
    e.offset = 0;
  }
  parts.push(b);
  e.partsLength! += n;
}

function appendEncoder(e: KafkajsEncoder, v: KafkajsEncoder): void {
  if (v.parts !== undefined) for (const p of v.parts) appendBytes(e, p);
  appendBytes(e, v.buf.subarray(0, v.offset));
}

function isEncoder(v: unknown): v is KafkajsEncoder {
  return v != null && Buffer.isBuffer((v as KafkajsEncoder).buf);
}

/**
 * kafkajs encodes a produce request at six nesting levels (record, record batch, the batch with its CRC, partition,
 * topic, request, the size-prefixed request), each copying the level below into a buffer of its own that doubles as
 * it grows: ~14 copies of every published byte. Patched: an encoder written into another is appended by reference
 * (a list of parts), and `.buffer` concatenates the parts once, where kafkajs needs one Buffer (the socket write; a
 * compression codec); long string values are encoded into a Buffer of their own size instead of a doubling one.
 */
function patchByReference(Encoder: KafkajsEncoderClass): void {
  const proto = Encoder.prototype;
  proto.writeBufferInternal = function (this: KafkajsEncoder, buffer: Buffer): void {
    appendBytes(this, buffer);
  };
  proto.writeEncoder = function (this: KafkajsEncoder, value: unknown): KafkajsEncoder {
    if (!isEncoder(value)) throw new Error('value should be an instance of Encoder');
    appendEncoder(this, value);
    return this;
  };
  proto.writeEncoderArray = function (this: KafkajsEncoder, value: unknown): KafkajsEncoder {
    if (!Array.isArray(value) || value.some((v) => !isEncoder(v))) throw new Error('all values should be an instance of Encoder[]');
    for (const v of value as KafkajsEncoder[]) appendEncoder(this, v);
    return this;
  };
  const writeVarIntBytes = proto.writeVarIntBytes as (this: KafkajsEncoder, value: unknown) => KafkajsEncoder;
  proto.writeVarIntBytes = function (this: KafkajsEncoder, value: unknown): KafkajsEncoder {
    if (typeof value !== 'string' || value.length < BY_REFERENCE_MIN) return writeVarIntBytes.call(this, value);
    const bytes = Buffer.from(value, 'utf8');
    this.writeVarInt(bytes.length);
    appendBytes(this, bytes);
    return this;
  };
  proto.size = function (this: KafkajsEncoder): number {
    return (this.partsLength ?? 0) + this.offset;
  };
  Object.defineProperty(proto, 'buffer', {
    configurable: true,
    get(this: KafkajsEncoder): Buffer {
      const parts = this.parts;
      if (parts === undefined) return this.buf.subarray(0, this.offset);
      parts.push(this.buf.subarray(0, this.offset));
      const all = Buffer.concat(parts, this.partsLength! + this.offset);
      this.parts = undefined;
      this.partsLength = 0;
      this.buf = all;
      this.offset = all.length;
      return all;
    },
  });
}

interface RecordBatchArgs {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: number;
  maxTimestamp?: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: KafkajsEncoder[];
}

/**
 * kafkajs's RecordBatch (recordBatch/v0) for uncompressed batches, the same bytes without concatenating the records
 * twice (once for the CRC, once for the batch's length-prefixed bytes): the CRC-32C is computed over the parts.
 * Compressed batches go to kafkajs's own.
 */
function recordBatchByReference(
  Encoder: KafkajsEncoderClass,
  Long: { fromInt(n: number): unknown; fromValue(n: number): unknown },
  original: (args: RecordBatchArgs) => Promise<KafkajsEncoder>,
): (args: RecordBatchArgs) => Promise<KafkajsEncoder> {
  return async (args) => {
    const compression = args.compression ?? 0;
    const records = args.records ?? [];
    if ((compression & 0x07) !== 0 || !records.every((r) => isEncoder(r))) return original(args);
    const now = Date.now();
    const attributes = args.transactional ? 16 : 0;
    const body = new Encoder()
      .writeInt16(attributes)
      .writeInt32(args.lastOffsetDelta ?? 0)
      .writeInt64(args.firstTimestamp ?? now)
      .writeInt64(args.maxTimestamp ?? now)
      .writeInt64(args.producerId ?? Long.fromValue(-1))
      .writeInt16(args.producerEpoch ?? 0)
      .writeInt32(args.firstSequence ?? 0)
      .writeArray(records, 'object');
    const bodyParts = body.parts === undefined ? [body.buf.subarray(0, body.offset)] : [...body.parts, body.buf.subarray(0, body.offset)];
    const batch = new Encoder()
      .writeInt32(args.partitionLeaderEpoch ?? 0)
      .writeInt8(2) // magic
      .writeUInt32(crc32cOf(bodyParts))
      .writeEncoder(body);
    return new Encoder()
      .writeInt64(args.firstOffset ?? Long.fromInt(0))
      .writeInt32(batch.size())
      .writeEncoder(batch);
  };
}

function patch(): void {
  const require = kafkajs22Require();
  if (!require) return;
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
  // (only if the record-batch encoder has not been loaded yet: it takes the CRC function when it is)
  if (!require.cache[batchPath]) {
    require(crcPath);
    const entry = require.cache[crcPath];
    if (entry) {
      entry.exports = crc32c;
      kafkajsEncodingPatched.crc = true;
    }
  }
  patchByReference(Encoder);
  kafkajsEncodingPatched.byReference = true;
  // the produce request takes RecordBatch from this module when it is first loaded (on the first produce)
  const producePath = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
  if (!require.cache[producePath]) {
    const batchModule = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (args: RecordBatchArgs) => Promise<KafkajsEncoder> };
    const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): unknown; fromValue(n: number): unknown };
    batchModule.RecordBatch = recordBatchByReference(Encoder, Long, batchModule.RecordBatch);
    kafkajsEncodingPatched.recordBatch = true;
  }
}

patch();
