import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpSender, type OutboundPost } from './http-sender.js';

/** A loopback receiver answering with `reply`, recording what arrived and how many TCP connections were opened. */
async function receiver(reply: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const got: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      reply(req, res, body);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, got, connections: () => connections,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe(HttpSender.name, () => {
  const sender = new HttpSender();
  afterAll(() => sender.close());
  const post = (url: string, o: Partial<OutboundPost> = {}): OutboundPost => ({
    url: new URL(url), addresses: ['127.0.0.1'], headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body: '{"a":1}', timeoutMs: 2_000, ...o,
  });

  it('POSTs the body and headers, reports status and Retry-After, and reuses one connection for sequential posts', async () => {
    const r = await receiver((_q, res) => res.writeHead(429, { 'retry-after': '7' }).end('slow down'));
    try {
      for (let i = 0; i < 5; i++) {
        await expect(sender.post(post(`http://127.0.0.1:${r.port}/hook?x=1`))).resolves.toEqual({ kind: 'response', status: 429, retryAfter: '7' });
      }
      expect(r.got).toHaveLength(5);
      expect(r.got[0]).toMatchObject({ path: '/hook?x=1', body: '{"a":1}', headers: { 'webhook-id': 'msg_1', 'content-type': 'application/json', 'content-length': '7' } });
      expect(r.connections()).toBe(1);
    } finally {
      await r.stop();
    }
  });

  it('connects to the checked address, not to what the host name resolves to now', async () => {
    const r = await receiver((_q, res) => res.writeHead(204).end());
    try {
      // `.invalid` never resolves (RFC 6761): the request only arrives because the connection is pinned.
      const result = await sender.post(post(`http://hooks.invalid:${r.port}/pinned`));
      expect(result).toEqual({ kind: 'response', status: 204, retryAfter: null });
      expect(r.got[0]).toMatchObject({ path: '/pinned', headers: { host: `hooks.invalid:${r.port}` } });
    } finally {
      await r.stop();
    }
  });

  it('does not follow a redirect', async () => {
    const r = await receiver((q, res) => (q.url === '/moved' ? res.writeHead(302, { location: '/elsewhere' }).end() : res.writeHead(200).end()));
    try {
      await expect(sender.post(post(`http://127.0.0.1:${r.port}/moved`))).resolves.toMatchObject({ kind: 'response', status: 302 });
      expect(r.got.map((g) => g.path)).toEqual(['/moved']);
    } finally {
      await r.stop();
    }
  });

  it('times out a receiver that does not answer in time, and reports a refused connection as a network error', async () => {
    const r = await receiver(() => undefined);
    try {
      await expect(sender.post(post(`http://127.0.0.1:${r.port}/hangs`, { timeoutMs: 100 }))).resolves.toEqual({ kind: 'timeout', timeoutMs: 100 });
    } finally {
      await r.stop();
    }
    await expect(sender.post(post(`http://127.0.0.1:${r.port}/gone`))).resolves.toMatchObject({ kind: 'network', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('sends again on a fresh connection when a kept-alive one was closed by the receiver', async () => {
    let n = 0;
    const r = await receiver((q, res) => {
      n += 1;
      // The second request's connection is dropped without an answer, as a server closing an idle socket does.
      if (n === 2) q.socket.destroy();
      else res.writeHead(200).end();
    });
    try {
      await expect(sender.post(post(`http://127.0.0.1:${r.port}/a`))).resolves.toMatchObject({ status: 200 });
      await expect(sender.post(post(`http://127.0.0.1:${r.port}/b`))).resolves.toMatchObject({ status: 200 });
      expect(r.got.map((g) => g.path)).toEqual(['/a', '/b', '/b']);
      expect(r.connections()).toBe(2);
    } finally {
      await r.stop();
    }
  });
});
