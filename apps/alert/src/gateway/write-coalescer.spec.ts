import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@vigil/testing';
import { Server, type Namespace } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { WriteCoalescer } from './write-coalescer.js';

/** Server-side TCP writes of one socket.io connection: `_write` / `_writev` calls of its net.Socket. */
function countWrites(conn: unknown): { count: number } {
  const raw = (conn as { transport: { socket: { _socket: { _write: (...a: unknown[]) => void; _writev?: (...a: unknown[]) => void } } } }).transport.socket._socket;
  const counter = { count: 0 };
  const write = raw._write.bind(raw);
  raw._write = (...a: unknown[]) => {
    counter.count += 1;
    write(...a);
  };
  const writev = raw._writev?.bind(raw);
  if (writev) {
    raw._writev = (...a: unknown[]) => {
      counter.count += 1;
      writev(...a);
    };
  }
  return counter;
}

describe(WriteCoalescer.name, () => {
  describe('on a socket.io server', () => {
    let http: HttpServer;
    let server: Server;
    let nsp: Namespace;
    let url: string;
    const clients: ClientSocket[] = [];

    async function start(coalesce: boolean): Promise<void> {
      http = createServer();
      server = new Server(http, { serveClient: false, perMessageDeflate: false });
      nsp = server.of('/alerts');
      nsp.on('connection', (s) => void s.join('room'));
      if (coalesce) expect(WriteCoalescer.attach(nsp.adapter)).toBe(true);
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/alerts`;
    }

    async function client(): Promise<{ socket: ClientSocket; got: string[] }> {
      const socket = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false });
      clients.push(socket);
      const got: string[] = [];
      socket.onAny((event: string, payload: { n: number }) => got.push(`${event}#${payload.n}`));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      await waitFor(() => nsp.adapter.rooms.get('room')?.size === clients.length);
      return { socket, got };
    }

    afterEach(async () => {
      for (const c of clients.splice(0)) c.disconnect();
      server.disconnectSockets(true);
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('sends the events broadcast in one turn to every client in order, in one TCP write per client', async () => {
      await start(true);
      const a = await client();
      const b = await client();
      const writes = [...nsp.sockets.values()].map((s) => countWrites(s.conn));

      nsp.to('room').emit('anomaly.detected', { n: 1 });
      nsp.to('room').emit('incident.opened', { n: 1 });
      nsp.to('room').emit('anomaly.detected', { n: 2 });

      const expected = ['anomaly.detected#1', 'incident.opened#1', 'anomaly.detected#2'];
      await waitFor(() => a.got.length === 3 && b.got.length === 3);
      expect(a.got).toEqual(expected);
      expect(b.got).toEqual(expected);
      expect(writes.map((w) => w.count)).toEqual([1, 1]);
    });

    it('writes each event on its own without it (the behaviour it replaces)', async () => {
      await start(false);
      const a = await client();
      const [w] = [...nsp.sockets.values()].map((s) => countWrites(s.conn));

      nsp.to('room').emit('anomaly.detected', { n: 1 });
      nsp.to('room').emit('incident.opened', { n: 1 });
      nsp.to('room').emit('anomaly.detected', { n: 2 });

      await waitFor(() => a.got.length === 3);
      expect(w!.count).toBe(3);
    });

    it('does not hold a volatile broadcast: it is written at once', async () => {
      await start(true);
      const a = await client();
      const [w] = [...nsp.sockets.values()].map((s) => countWrites(s.conn));

      nsp.to('room').volatile.emit('anomaly.detected', { n: 1 });
      expect(w!.count).toBe(1);

      await waitFor(() => a.got.length === 1);
      expect(a.got).toEqual(['anomaly.detected#1']);
    });

    it('keeps a direct emit to one socket in order with the broadcasts held around it', async () => {
      await start(true);
      const a = await client();
      const [s] = [...nsp.sockets.values()];

      nsp.to('room').emit('anomaly.detected', { n: 1 });
      s!.emit('anomaly.detected', { n: 2 });
      nsp.to('room').emit('anomaly.detected', { n: 3 });

      await waitFor(() => a.got.length === 3);
      expect(a.got).toEqual(['anomaly.detected#1', 'anomaly.detected#2', 'anomaly.detected#3']);
    });

    it('still delivers to the other clients when one disconnects during the burst', async () => {
      await start(true);
      const a = await client();
      const b = await client();
      const [first] = [...nsp.sockets.values()];

      nsp.to('room').emit('anomaly.detected', { n: 1 });
      first!.disconnect(true);
      nsp.to('room').emit('anomaly.detected', { n: 2 });

      const survivor = a.socket.id === first!.id ? b : a;
      await waitFor(() => survivor.got.length === 2);
      expect(survivor.got).toEqual(['anomaly.detected#1', 'anomaly.detected#2']);
    });
  });

  describe('hold', () => {
    const fakeConnection = (readyState: string, name: string, writable: boolean) => {
      const conn = { readyState, transport: { name, writable }, flushes: 0, flush: () => void (conn.flushes += 1) };
      return conn;
    };

    it('holds an idle websocket connection until the end of the turn, then flushes it once', async () => {
      const coalescer = new WriteCoalescer();
      const conn = fakeConnection('open', 'websocket', true);
      coalescer.hold(conn);
      coalescer.hold(conn);
      expect(conn.transport.writable).toBe(false);
      expect(coalescer.holding).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(conn.transport.writable).toBe(true);
      expect(conn.flushes).toBe(1);
      expect(coalescer.holding).toBe(0);
    });

    it.each([
      ['a polling connection', 'open', 'polling', true],
      ['a connection with a write in flight', 'open', 'websocket', false],
      ['a closing connection', 'closing', 'websocket', true],
    ])('leaves %s alone', async (_, readyState, name, writable) => {
      const coalescer = new WriteCoalescer();
      const conn = fakeConnection(readyState, name, writable);
      coalescer.hold(conn);
      expect(coalescer.holding).toBe(0);
      expect(conn.transport.writable).toBe(writable);
      await new Promise((r) => setImmediate(r));
      expect(conn.flushes).toBe(0);
    });

    it('flushes the other connections when one flush throws, and reports it', async () => {
      const errors: unknown[] = [];
      const coalescer = new WriteCoalescer((err) => errors.push(err));
      const broken = {
        ...fakeConnection('open', 'websocket', true),
        flush: () => {
          throw new Error('boom');
        },
      };
      const fine = fakeConnection('open', 'websocket', true);
      coalescer.hold(broken);
      coalescer.hold(fine);
      coalescer.flush();
      expect(fine.flushes).toBe(1);
      expect(fine.transport.writable).toBe(true);
      expect(broken.transport.writable).toBe(true);
      expect(errors).toEqual([new Error('boom')]);
    });
  });
});
