import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createHttpLogger, requestLogLevel } from './http-logger.js';
import { createLogger, REDACTED } from './logger.js';
import { PinoNestLogger } from './nest-logger.js';

/** A destination that keeps every JSON line written to it. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

describe(createLogger.name, () => {
  it('writes one JSON object per line with the service, level label and message', () => {
    const out = capture();
    createLogger({ service: 'ingest', level: 'info', destination: out.stream }).info({ batch: 3 }, 'parsed');
    expect(out.lines()).toEqual([expect.objectContaining({ service: 'ingest', level: 'info', msg: 'parsed', batch: 3 })]);
  });

  it.each([
    ['a top-level password', { password: 'p4ss' }, ['password']],
    ['a nested secret', { webhook: { url: 'https://x', secret: 'whsec_1' } }, ['webhook', 'secret']],
    ['an apiKey two levels down', { tenant: { key: { apiKey: 'vk_live_1' } } }, ['tenant', 'key', 'apiKey']],
    ['a token', { session: { token: 'tok_1' } }, ['session', 'token']],
    ['the hash key in a logged config', { config: { hashKey: 'k'.repeat(32) } }, ['config', 'hashKey']],
    ['a ClickHouse password in a logged config', { config: { store: { password: 'chpw' } } }, ['config', 'store', 'password']],
  ])('redacts %s', (_what, fields, path) => {
    const out = capture();
    createLogger({ service: 't', level: 'info', destination: out.stream }).info(fields, 'm');
    const line = out.lines()[0];
    const value = path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], line);
    expect(value).toBe(REDACTED);
  });

  it('keeps the fields next to a secret', () => {
    const out = capture();
    createLogger({ service: 't', level: 'info', destination: out.stream }).info({ webhook: { url: 'https://x', secret: 's' } }, 'm');
    expect(out.lines()[0]?.webhook).toEqual({ url: 'https://x', secret: REDACTED });
  });
});

describe(createHttpLogger.name, () => {
  function request(headers: Record<string, string>): { req: IncomingMessage; res: ServerResponse } {
    const req = new IncomingMessage(new Socket());
    req.method = 'POST';
    req.url = '/v1/logs?x=1';
    req.headers = headers;
    const res = new ServerResponse(req);
    return { req, res };
  }

  it('logs the request with credential headers redacted and the request id echoed', () => {
    const out = capture();
    const middleware = createHttpLogger(createLogger({ service: 'ingest', level: 'info', destination: out.stream }));
    const { req, res } = request({ authorization: 'Bearer abc', cookie: 'sid=1', 'x-api-key': 'vk_1', 'user-agent': 'curl/8', 'x-request-id': 'req-42' });
    middleware(req, res);
    res.writeHead(202);
    (res as unknown as EventEmitter).emit('finish');
    const line = out.lines()[0] as { req: { id: string; headers: Record<string, string> }; res: { statusCode: number }; level: string };
    expect(line.req.headers).toMatchObject({ authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, 'user-agent': 'curl/8' });
    expect(line.req.id).toBe('req-42');
    expect(res.getHeader('x-request-id')).toBe('req-42');
    expect(line.res.statusCode).toBe(202);
    expect(line.level).toBe('info');
  });

  it.each([
    ['/v1/logs', 200, 'info'],
    ['/v1/logs', 404, 'warn'],
    ['/v1/logs', 500, 'error'],
    ['/health', 200, 'debug'],
    ['/metrics', 200, 'debug'],
    ['/health', 503, 'warn'],
  ])('logs %s answered %i at %s', (path, status, level) => {
    expect(requestLogLevel(path, status)).toBe(level);
  });
});

describe(PinoNestLogger.name, () => {
  it.each([
    ['log', 'info'],
    ['warn', 'warn'],
    ['debug', 'debug'],
    ['verbose', 'trace'],
    ['fatal', 'fatal'],
  ] as const)('maps Nest %s to pino %s and keeps the context', (method, level) => {
    const out = capture();
    const nest = new PinoNestLogger(createLogger({ service: 't', level: 'trace', destination: out.stream }));
    nest[method]('Mapped {/health, GET} route', 'RouterExplorer');
    expect(out.lines()).toEqual([expect.objectContaining({ level, msg: 'Mapped {/health, GET} route', context: 'RouterExplorer' })]);
  });

  it('keeps the stack of an error Nest reports with (message, stack, context)', () => {
    const out = capture();
    const nest = new PinoNestLogger(createLogger({ service: 't', level: 'info', destination: out.stream }));
    nest.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'ExceptionsHandler');
    expect(out.lines()[0]).toMatchObject({ level: 'error', msg: 'boom', context: 'ExceptionsHandler', stack: 'Error: boom\n    at x (y.js:1:1)' });
  });

  it('serialises an Error message with its type and message', () => {
    const out = capture();
    new PinoNestLogger(createLogger({ service: 't', level: 'info', destination: out.stream })).error(new TypeError('bad'));
    expect(out.lines()[0]).toMatchObject({ msg: 'bad', err: { type: 'TypeError', message: 'bad' } });
  });

  it('redacts secrets in objects Nest code logs', () => {
    const out = capture();
    new PinoNestLogger(createLogger({ service: 't', level: 'info', destination: out.stream })).log({ msg: 'key created', apiKey: 'vk_live_2' }, 'ApiKeys');
    expect(out.lines()[0]).toMatchObject({ msg: 'key created', apiKey: REDACTED, context: 'ApiKeys' });
  });

  it('honours the levels Nest asks for', () => {
    const out = capture();
    const nest = new PinoNestLogger(createLogger({ service: 't', level: 'trace', destination: out.stream }));
    nest.setLogLevels(['warn', 'error']);
    nest.log('hidden');
    nest.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
