import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { framedSocketFactory, ResponseFramer } from './kafkajs-socket.js';

/** A Kafka-style response: int32 size, then that many bytes. */
function response(bytes: number): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes);
  out.writeInt32BE(bytes, 0);
  randomBytes(bytes).copy(out, 4);
  return out;
}

/** Feeds `stream` to a framer in reads of the given sizes, each into the buffer the framer asks for. */
function feed(stream: Buffer, readSizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  const framer = new ResponseFramer((r) => out.push(r));
  let at = 0;
  while (at < stream.length) {
    const target = framer.target();
    const n = Math.min(target.length, readSizes(), stream.length - at);
    stream.copy(target, 0, at, at + n);
    framer.read(n, target);
    at += n;
  }
  return out;
}

describe('ResponseFramer', () => {
  const sizes = [0, 1, 3, 4, 100, 16 * 1024 - 1, 16 * 1024, 70_000, 1_000_000, 5, 200_000, 0, 2];
  const responses = sizes.map(response);
  const stream = Buffer.concat(responses);
  // byte-sized reads over the small responses only (a read at a time is slow in a test)
  const small = responses.filter((r) => r.length < 100_000);
  const smallStream = Buffer.concat(small);

  it('gives back every response whole, in order, however the stream is split into reads', () => {
    for (const split of [() => 1, () => 3]) {
      const out = feed(smallStream, split);
      expect(out.length).toBe(small.length);
      out.forEach((r, i) => expect(r.equals(small[i]!)).toBe(true));
    }
    const splits: [string, () => number][] = [
      ['7-byte reads', () => 7],
      ['64 KiB reads', () => 64 * 1024],
      ['random reads', () => 1 + Math.floor(Math.random() * 100_000)],
    ];
    for (const [, split] of splits) {
      const out = feed(stream, split);
      expect(out.length).toBe(responses.length);
      out.forEach((r, i) => expect(r.equals(responses[i]!)).toBe(true));
    }
  });

  it('reads the rest of a large response straight into it, and small ones through its scratch buffer', () => {
    const framer = new ResponseFramer(() => undefined);
    const scratch = framer.target();
    const big = response(1_000_000);
    big.copy(scratch, 0, 0, 1000);
    framer.read(1000, scratch);
    const direct = framer.target();
    expect(direct).not.toBe(scratch);
    expect(direct.length).toBe(big.length - 1000);
    // a small response: its bytes stay in the scratch buffer
    const small = new ResponseFramer(() => undefined);
    const s = small.target();
    response(10_000).copy(s, 0, 0, 100);
    small.read(100, s);
    expect(small.target()).toBe(s);
  });
});

describe('framedSocketFactory', () => {
  it("emits a server's responses as whole 'data' events over real TCP", async () => {
    const responses = [0, 10, 300_000, 3, 2_000_000, 64 * 1024].map(response);
    const server = net.createServer((s) => {
      // written in odd pieces so that reads straddle responses
      const all = Buffer.concat(responses);
      let at = 0;
      const step = (): void => {
        if (at >= all.length) return void s.end();
        const n = Math.min(all.length - at, 1 + Math.floor(Math.random() * 200_000));
        s.write(all.subarray(at, at + n), step);
        at += n;
      };
      step();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const got: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const socket = framedSocketFactory()({ host: '127.0.0.1', port, onConnect: () => undefined });
        socket.on('data', (d: Buffer) => got.push(d));
        socket.on('error', reject);
        socket.on('end', () => resolve());
      });
      expect(got.length).toBe(responses.length);
      got.forEach((r, i) => expect(r.equals(responses[i]!)).toBe(true));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
