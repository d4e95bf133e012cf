import { kafkajs22Require } from './kafkajs-internals.js';

/**
 * kafkajs 2.2.4's record decoding on the fetch path, replaced in place (same records, field for field).
 *
 * kafkajs decodes every record of a fetched record batch into an object (`recordBatch/record/v0/decoder.js`), and on
 * the way makes ~20 short-lived heap objects per record: a Buffer slice and a `Decoder` for the record's bytes, its
 * timestamp delta read as a varlong through a chain of `Long`s (a BigInt and a `Long` per byte read, shift and add,
 * then the zig-zag in four more), the batch's first offset and first timestamp parsed from their decimal strings
 * again for every record (`Long.fromValue(string)`), a BigInt sum and its `toString()` for each, and an array and a
 * spread object per header. For a consumer draining 1 KB records (bench:ingest) that garbage and the BigInt
 * arithmetic were a visible share of ingest's main thread.
 *
 * `decodeRecordBatch` replaces the record-batch decoder (`recordBatch/v0/decoder.js`, which the fetch response's
 * `decodeMessages` loads on the first fetch): the batch header is read as kafkajs reads it, and each record is read
 * straight from the batch's bytes with plain numbers: offset = first offset + delta and timestamp = first timestamp +
 * delta as Numbers and their decimal strings, whenever the operands and the sum are safe integers (always, for offsets
 * below 2^53 and millisecond timestamps), else with BigInts as kafkajs does. Key and value are the same Buffer views of
 * the fetched bytes, headers the same object (duplicates as arrays, in kafkajs's way), every field as kafkajs has it,
 * and a record whose bytes are not as expected is handed to kafkajs's own record decoder. Compressed batches are
 * decompressed with kafkajs's codecs, as before, then read the same way.
 *
 * Applies to kafkajs as Node's require loads it (the services, benchmarks and e2e tests), and only if the fetch
 * response's `decodeMessages` has not been loaded yet (it takes the decoder when it is); `kafkajsDecodingPatched` says
 * whether it was. A unit spec checks the records against kafkajs's own decoder (a plain `node` child).
 */

/** What kafkajs's record decoder returns. */
export interface KafkajsRecord {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: Record<string, unknown>;
}

interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readAll(): Buffer;
  slice(size: number): KafkajsDecoder;
  forward(size: number): void;
}

interface Internals {
  Decoder: new (buffer: Buffer) => KafkajsDecoder;
  KafkaJSPartialMessageError: new (message: string) => Error;
  lookupCodecByAttributes(attributes: number): { decompress(b: Buffer): Promise<Buffer> } | null | undefined;
  RecordDecoder(decoder: KafkajsDecoder, batchContext: Record<string, unknown>): KafkajsRecord;
  LOG_APPEND_TIME: number;
  CREATE_TIME: number;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
/** |x| below this: x + a 32-bit delta is still a safe integer. */
const SAFE_BASE = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** Whether kafkajs's record-batch decoder (as Node's require loads it) was replaced, and how many records it handed to kafkajs's own record decoder. */
export const kafkajsDecodingPatched: { recordBatch: boolean; fallbacks: number } = { recordBatch: false, fallbacks: 0 };

/** A safe-integer Number for a decimal Int64 string when it is one far enough from the limits, else NaN. */
function safeBase(s: string): number {
  const n = Number(s);
  return Number.isSafeInteger(n) && n > -SAFE_BASE && n < SAFE_BASE ? n : NaN;
}

/** Read position of varint() and span() in the buffer being decoded (records are read synchronously, one batch at a time). */
let at = 0;

/** kafkajs's Decoder.readVarInt at `at`: a zig-zag varint, with the same 32-bit arithmetic. */
function varint(buf: Buffer): number {
  let v = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = buf[at++]!;
    v += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  return (v >>> 1) ^ -(v & 1);
}

/** span(): a null value (length -1). */
const NULL = -1;
/** span(): a length that does not fit before the record's end (the record goes to kafkajs's decoder). */
const OUT = -2;

/** The extent of readVarIntBytes at `at`: its start, with `at` moved past it; NULL or OUT. */
function span(buf: Buffer, end: number): number {
  const len = varint(buf);
  if (len === -1) return NULL;
  const start = at;
  if (len < 0 || start + len > end) return OUT;
  at = start + len;
  return start;
}

/** The record-batch decoder with records read in place (see the module comment). `x` are kafkajs's own pieces. */
export function recordBatchDecoder(x: Internals): (fetchDecoder: KafkajsDecoder) => Promise<Record<string, unknown>> {
  /** Records [from, end) of `buf`, `count` of them (kafkajs's readArray: -1 is none), into `out`. */
  function readRecords(buf: Buffer, from: number, count: number, ctx: Record<string, unknown>, out: KafkajsRecord[]): void {
    const magicByte = ctx.magicByte as number;
    const isControlBatch = ctx.isControlBatch as boolean;
    const firstOffset = ctx.firstOffset as string;
    const firstTimestamp = ctx.firstTimestamp as string;
    const appendTime = ctx.timestampType === x.LOG_APPEND_TIME && (ctx.maxTimestamp as string) ? (ctx.maxTimestamp as string) : null;
    const offsetBase = safeBase(firstOffset);
    const timestampBase = safeBase(firstTimestamp);
    at = from;
    for (let r = 0; r < count; r++) {
      const len = varint(buf); // the record's length (readVarIntBytes: -1 for null)
      const start = at;
      const end = start + len;
      const record = len > 0 && end <= buf.length ? readRecord(buf, end, ctx, magicByte, isControlBatch, offsetBase, timestampBase, appendTime) : null;
      // anything unexpected: kafkajs's own record decoder on the record's bytes (it fails or decodes as it always did)
      if (record === null) kafkajsDecodingPatched.fallbacks++;
      out.push(record ?? x.RecordDecoder(new x.Decoder(len === -1 ? (null as unknown as Buffer) : buf.slice(start, end)), ctx));
      at = len === -1 ? start : end;
    }
  }

  /** One record of buf[at, end), or null if it does not decode within those bytes. */
  function readRecord(
    buf: Buffer,
    end: number,
    ctx: Record<string, unknown>,
    magicByte: number,
    isControlBatch: boolean,
    offsetBase: number,
    timestampBase: number,
    appendTime: string | null,
  ): KafkajsRecord | null {
    const attributes = (buf[at++]! << 24) >> 24; // readInt8
    // timestamp delta: a zig-zag varlong, as a Number while it stays exact (7 bytes: 49 bits)
    let tsRaw = 0;
    let mul = 1;
    let byte: number;
    let n = 0;
    do {
      if (n === 7) return null; // longer than this: kafkajs's decoder
      byte = buf[at++]!;
      tsRaw += (byte & 0x7f) * mul;
      mul *= 128;
      n++;
    } while (byte >= 0x80);
    const tsDelta = tsRaw % 2 === 0 ? tsRaw / 2 : -(tsRaw + 1) / 2;
    let timestamp: string;
    if (appendTime !== null) timestamp = appendTime;
    else {
      const t = timestampBase + tsDelta;
      timestamp = Number.isSafeInteger(t) ? String(t) : (BigInt(ctx.firstTimestamp as string) + BigInt(tsDelta)).toString();
    }
    const od = varint(buf); // offset delta (readVarInt)
    const o = offsetBase + od;
    const offset = Number.isSafeInteger(o) ? String(o) : (BigInt(ctx.firstOffset as string) + BigInt(od)).toString();
    const ks = span(buf, end);
    if (ks === OUT) return null;
    const key = ks === NULL ? null : buf.slice(ks, at);
    const vs = span(buf, end);
    if (vs === OUT) return null;
    const value = vs === NULL ? null : buf.slice(vs, at);
    // headers (readVarIntArray of { key: readVarIntString, value: readVarIntBytes }), folded as kafkajs folds them
    const count = varint(buf);
    const headers: KafkajsRecord['headers'] = {};
    for (let h = 0; h < count; h++) {
      const hks = span(buf, end);
      if (hks === OUT) return null;
      const name = hks === NULL ? 'null' : buf.toString('utf8', hks, at); // String(null), as kafkajs names it
      const hvs = span(buf, end);
      if (hvs === OUT) return null;
      const hv = hvs === NULL ? null : buf.slice(hvs, at);
      const prev = (headers as Record<string, unknown>)[name];
      const next = prev === undefined ? hv : Array.isArray(prev) ? prev.concat([hv]) : [prev, hv];
      // a computed key in kafkajs's object spread defines an own property, '__proto__' included
      Object.defineProperty(headers, name, { value: next, writable: true, enumerable: true, configurable: true });
    }
    if (at > end) return null;
    return { magicByte, attributes, timestamp, offset, key, value, headers: headers as KafkajsRecord['headers'], isControlRecord: isControlBatch, batchContext: ctx };
  }

  return async function decodeRecordBatch(fetchDecoder: KafkajsDecoder): Promise<Record<string, unknown>> {
    // the batch header exactly as kafkajs's recordBatch/v0/decoder.js reads it
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const remainingBytes = Buffer.byteLength(decoder.buffer);
    if (remainingBytes < length) {
      throw new x.KafkaJSPartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`);
    }
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // CRC, not checked (kafkajs does not either)
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    const inTransaction = (attributes & TRANSACTIONAL_FLAG_MASK) > 0;
    const isControlBatch = (attributes & CONTROL_FLAG_MASK) > 0;
    const timestampType = (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? x.LOG_APPEND_TIME : x.CREATE_TIME;
    const codec = x.lookupCodecByAttributes(attributes);
    const recordContext = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction,
      isControlBatch,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType,
    };
    const ctx: Record<string, unknown> = { ...recordContext, magicByte };
    const records: KafkajsRecord[] = [];
    if (!codec) {
      const count = decoder.readInt32(); // readArray (new Array(count) there: other negatives throw)
      if (count < -1) throw new RangeError('Invalid array length');
      if (count !== -1) readRecords(decoder.buffer, decoder.offset, count, ctx, records);
    } else {
      const count = decoder.readInt32();
      if (count > 0) {
        const decompressed = await codec.decompress(decoder.readAll());
        readRecords(decompressed, 0, count, ctx, records);
      }
    }
    return { ...recordContext, records };
  };
}

function patch(): void {
  const require = kafkajs22Require();
  if (!require) return;
  // decodeMessages takes the record-batch decoder when it is first loaded (on the first fetch)
  if (require.cache[require.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js')]) return;
  const batchPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
  require(batchPath);
  const entry = require.cache[batchPath];
  if (!entry) return;
  const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as Pick<Internals, 'KafkaJSPartialMessageError'>;
  const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as Pick<Internals, 'lookupCodecByAttributes'>;
  const types = require('kafkajs/src/protocol/timestampTypes.js') as Pick<Internals, 'LOG_APPEND_TIME' | 'CREATE_TIME'>;
  entry.exports = recordBatchDecoder({
    Decoder: require('kafkajs/src/protocol/decoder.js') as Internals['Decoder'],
    KafkaJSPartialMessageError,
    lookupCodecByAttributes,
    RecordDecoder: require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as Internals['RecordDecoder'],
    LOG_APPEND_TIME: types.LOG_APPEND_TIME,
    CREATE_TIME: types.CREATE_TIME,
  });
  kafkajsDecodingPatched.recordBatch = true;
}

patch();
