import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Body, Controller, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { installBodyParsers, underPrefix } from './body-parsers.js';

@Controller()
class ProbeController {
  /** Streams its body the way ingest's POST /v1/logs does. */
  @Post('v1/logs')
  async stream(@Req() req: IncomingMessage & { body?: unknown }): Promise<{ streamed: string; parsed: boolean }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return { streamed: Buffer.concat(chunks).toString('utf8'), parsed: req.body !== undefined };
  }

  @Post('v1/keys')
  echo(@Body() body: unknown): { body: unknown } {
    return { body };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe(installBodyParsers.name, () => {
  let app: NestExpressApplication;
  let url: string;
  beforeAll(async () => {
    app = await NestFactory.create<NestExpressApplication>(ProbeModule, { bodyParser: false, logger: false });
    installBodyParsers(app, ['/v1/logs']);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app?.close());

  const post = async (path: string, body: string, type: string) =>
    (await fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type } })).json();

  it('leaves the body stream of a raw-body route unread, even for JSON', async () => {
    expect(await post('/v1/logs', '[{"status":200}]', 'application/json')).toEqual({ streamed: '[{"status":200}]', parsed: false });
  });

  it('parses JSON bodies on every other route, including +json media types', async () => {
    expect(await post('/v1/keys', '{"name":"ci"}', 'application/json; charset=utf-8')).toEqual({ body: { name: 'ci' } });
    expect(await post('/v1/keys', '{"name":"ci"}', 'application/merge-patch+json')).toEqual({ body: { name: 'ci' } });
  });

  it('parses urlencoded forms', async () => {
    expect(await post('/v1/keys', 'name=ci&scopes=logs%3Awrite', 'application/x-www-form-urlencoded')).toEqual({ body: { name: 'ci', scopes: 'logs:write' } });
  });

  it.each([
    ['/v1/logs', true],
    ['/v1/logs/', true],
    ['/v1/logs?tenant=a', true],
    ['/v1/logs/bulk', true],
    ['/v1/logsx', false],
    ['/v1/keys', false],
  ])('treats %s as under /v1/logs: %p', (path, under) => {
    expect(underPrefix(path, ['/v1/logs'])).toBe(under);
  });
});
