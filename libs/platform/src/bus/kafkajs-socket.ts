import net from 'node:net';
import tls from 'node:tls';
import { kafkajs22Require } from './kafkajs-internals.js';

/**
 * kafkajs's read path, without copying responses. kafkajs (2.2.4) receives a response in the socket's chunks (Node
 * reads a socket 64 KiB at a time, each read into a fresh buffer) and, once all of a response has arrived, copies the
 * chunks into one Buffer (`Buffer.concat` in Connection.processData). For a consumer fetching 16 MiB at a time that is
 * ~256 buffers and a 16 MiB copy per fetch, ~2 µs of the ingest thread's CPU per event in the bench:ingest profile.
 *
 * `framedSocketFactory` makes plain-TCP sockets that read through Node's `onread` option: the 4-byte size of each
 * response is read first, a Buffer of exactly that response's size is allocated, and the kernel then reads the rest of
 * the response straight into it. The socket emits each whole response (size included) as one 'data' event, which is
 * what kafkajs's processData handles without a copy, once the empty leftover it keeps after each response is dropped
 * (patched below: it would otherwise concatenate that empty chunk with the next response). Bytes are only read into a
 * small scratch buffer (and copied out of it) until a response's size is known, and for responses that fit in it.
 *
 * TLS sockets (`ssl`) are made as kafkajs makes them. The processData patch applies to kafkajs as Node's require loads
 * it (the services, benchmarks and e2e tests); under Jest, which loads its own copy, the framed socket still delivers
 * whole responses and kafkajs concatenates each with its empty leftover (one copy, as before), same bytes either way.
 */

const KEEP_ALIVE_DELAY_MS = 60_000; // kafkajs's own
const SCRATCH_BYTES = 64 * 1024;
/** A response with at least this much still to come is read into directly; less goes through the scratch buffer. */
const DIRECT_READ_BYTES = 16 * 1024;

/** Splits a byte stream into Kafka responses (int32 size + that many bytes); the reads land in `target()`. */
export class ResponseFramer {
  private readonly scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private readonly head = Buffer.allocUnsafe(4);
  private headFill = 0;
  private frame: Buffer | null = null;
  private filled = 0;

  constructor(private readonly emit: (response: Buffer) => void) {}

  /**
   * Where the next read goes: the rest of the response being read, or (between responses, or near a response's end,
   * where one read may also take the next responses) the scratch buffer.
   */
  target(): Uint8Array {
    const frame = this.frame;
    return frame !== null && frame.length - this.filled >= DIRECT_READ_BYTES ? frame.subarray(this.filled) : this.scratch;
  }

  /** `n` bytes were read into `buf` (what target() returned). */
  read(n: number, buf: Uint8Array): void {
    if (buf !== this.scratch) {
      // read straight into the response being assembled
      this.filled += n;
      this.completeIfFull();
      return;
    }
    const src = this.scratch;
    let i = 0;
    while (i < n) {
      if (this.frame === null) {
        let size: number;
        if (this.headFill === 0 && n - i >= 4) {
          size = src.readInt32BE(i);
          i += 4;
        } else {
          const take = Math.min(4 - this.headFill, n - i);
          src.copy(this.head, this.headFill, i, i + take);
          this.headFill += take;
          i += take;
          if (this.headFill < 4) return;
          this.headFill = 0;
          size = this.head.readInt32BE(0);
        }
        // a negative size is passed on as it is (kafkajs fails the connection on it)
        this.frame = Buffer.allocUnsafe(4 + Math.max(0, size));
        this.frame.writeInt32BE(size, 0);
        this.filled = 4;
      }
      const take = Math.min(n - i, this.frame.length - this.filled);
      src.copy(this.frame, this.filled, i, i + take);
      this.filled += take;
      i += take;
      this.completeIfFull();
    }
  }

  private completeIfFull(): void {
    const frame = this.frame;
    if (frame === null || this.filled < frame.length) return;
    this.frame = null;
    this.filled = 0;
    this.emit(frame);
  }
}

interface SocketFactoryArgs {
  host: string;
  port: number;
  ssl?: tls.ConnectionOptions | boolean;
  onConnect: () => void;
}

/** kafkajs `socketFactory`: framed reads for plain TCP (see the module comment), kafkajs's own sockets for TLS. */
export function framedSocketFactory(): (args: SocketFactoryArgs) => net.Socket {
  return ({ host, port, ssl, onConnect }) => {
    let socket: net.Socket;
    if (ssl) {
      socket = tls.connect({ host, port, ...(!net.isIP(host) ? { servername: host } : {}), ...(ssl === true ? {} : ssl) }, onConnect);
    } else {
      const framer: ResponseFramer = new ResponseFramer((response) => socket.emit('data', response));
      socket = net.connect(
        {
          host,
          port,
          onread: {
            buffer: () => framer.target(),
            callback: (n: number, buf: Uint8Array) => {
              framer.read(n, buf);
              return true;
            },
          },
        },
        onConnect,
      );
    }
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}

interface KafkajsConnection {
  chunks: Buffer[];
  processData(raw: Buffer): unknown;
}

/** Whether kafkajs's processData (as Node's require loads it) drops its empty leftover chunk (see the module comment). */
export const kafkajsSocketPatched: { processData: boolean } = { processData: false };

function patch(): void {
  const require = kafkajs22Require();
  if (!require) return;
  const Connection = require('kafkajs/src/network/connection.js') as { prototype: KafkajsConnection };
  const processData = Connection.prototype.processData;
  Connection.prototype.processData = function (this: KafkajsConnection, raw: Buffer): unknown {
    const chunks = this.chunks;
    if (chunks.length === 1 && chunks[0]!.length === 0) this.chunks = [];
    return processData.call(this, raw);
  };
  kafkajsSocketPatched.processData = true;
}

patch();
