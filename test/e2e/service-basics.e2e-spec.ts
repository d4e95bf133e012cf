import { jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@vigil/testing';
import { distributedEnv, type DistributedEnv } from './helpers/distributed-env.js';
import { getJson, getText, runToExit, spawnService, type AppName, type ServiceProcess } from './helpers/service-process.js';

jest.setTimeout(90_000);

interface HealthBody {
  status: 'ok' | 'degraded';
  service: string;
  uptimeSeconds: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

/** The shutdown steps, in the order a user reading the log must see them. */
const SHUTDOWN_STEPS = [
  /^shutdown: SIGTERM received; new HTTP requests get 503$/,
  /^shutdown: closing HTTP server/,
  /^shutdown: HTTP server closed$/,
  /^shutdown: closing event bus/,
  /^shutdown: event-bus closed$/,
  /^shutdown: closing store/,
  /^shutdown: store closed$/,
  /^shutdown: complete$/,
];

function shutdownMessages(proc: ServiceProcess): string[] {
  return proc
    .logs()
    .filter((l) => l.component === 'shutdown')
    .map((l) => l.msg);
}

/** Index of the first message matching each pattern, -1 when absent. */
function positions(messages: string[], patterns: RegExp[]): number[] {
  return patterns.map((p) => messages.findIndex((m) => p.test(m)));
}

describe('standalone service', () => {
  let svc: ServiceProcess;
  beforeAll(async () => {
    svc = await spawnService('standalone');
  });
  afterAll(() => svc?.kill());

  it('reports ok on /health with the in-process bus, the SQLite store and the SQLite work queue checked', async () => {
    const { status, body } = await getJson<HealthBody>(`${svc.url}/health`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', service: 'standalone' });
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.checks.map((c) => [c.name, c.ok, c.detail.split(':')[0]])).toEqual([
      ['event-bus', true, 'inprocess'],
      ['store', true, 'sqlite'],
      ['work-queue', true, 'sqlite'],
    ]);
  });

  it('answers liveness on /health/live', async () => {
    const { status, body } = await getJson<{ status: string }>(`${svc.url}/health/live`);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
  });

  it('keeps idle HTTP connections for 65 s, longer than a load balancer\'s 60 s idle timeout', async () => {
    const res = await fetch(`${svc.url}/health/live`);
    await res.arrayBuffer();
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  });

  it('serves Prometheus text on /metrics with process metrics labelled by service', async () => {
    const { status, contentType, body } = await getText(`${svc.url}/metrics`);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE process_resident_memory_bytes gauge');
    const rss = /^process_resident_memory_bytes\{service="standalone"\} (\d+)/m.exec(body);
    expect(Number(rss?.[1])).toBeGreaterThan(1_000_000);
  });

  it('keeps its SQLite database and hash key in the data dir', () => {
    expect(existsSync(join(svc.dataDir, 'vigil.sqlite'))).toBe(true);
    expect(existsSync(join(svc.dataDir, 'hash-key'))).toBe(true);
  });

  it('prints a banner with the URL, /health and the data dir', () => {
    const port = new URL(svc.url).port;
    expect(svc.stderr()).toContain(`http://127.0.0.1:${port}/health`);
    expect(svc.stderr()).toContain(svc.dataDir);
  });

  it('logs each request as JSON with its request id and the credentials redacted', async () => {
    const res = await fetch(`${svc.url}/no-such-route`, { headers: { 'x-request-id': 'e2e-req-1', authorization: 'Bearer e2e-secret' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('e2e-req-1');
    const line = await waitFor(() => svc.logs().find((l) => (l.req as { id?: string } | undefined)?.id === 'e2e-req-1'), { what: 'the request log line' });
    expect(line).toMatchObject({ level: 'warn', req: { method: 'GET', url: '/no-such-route', headers: { authorization: '[Redacted]' } }, res: { statusCode: 404 } });
    expect(svc.stdout()).not.toContain('e2e-secret');
    expect(svc.stdout().split('\n').filter((l) => l && !l.startsWith('{'))).toEqual([]);
  });
});

describe('standalone shutdown', () => {
  it('exits 0 on SIGTERM after logging each shutdown step in order', async () => {
    const svc = await spawnService('standalone');
    try {
      const exit = await svc.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      const at = positions(shutdownMessages(svc), [...SHUTDOWN_STEPS.slice(0, 5), /^shutdown: closing work queue/, /^shutdown: work-queue closed$/, ...SHUTDOWN_STEPS.slice(5)]);
      expect(at.every((i) => i >= 0)).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
    } finally {
      await svc.kill();
    }
  });
});

describe('bad configuration', () => {
  it.each([
    ['PORT is not a number', { PORT: 'notaport' }, 'PORT'],
    ['distributed mode without Kafka brokers', { VIGIL_MODE: 'distributed', CLICKHOUSE_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1', VIGIL_HASH_KEY: 'x'.repeat(20) }, 'KAFKA_BROKERS'],
  ])('exits non-zero before starting anything when %s, naming the variable on stderr', async (_case, env, variable) => {
    const result = await runToExit('standalone', env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toMatch(new RegExp(`^\\s+- ${variable} `, 'm'));
    expect(result.stdout).not.toContain('listening');
    expect(existsSync(join(result.dataDir, 'vigil.sqlite'))).toBe(false);
  });

  it('names a malformed secret without printing it', async () => {
    const result = await runToExit('ingest', { VIGIL_HASH_KEY: 'short-secret' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('VIGIL_HASH_KEY');
    expect(result.stderr).not.toContain('short-secret');
  });
});

describe('distributed services against Kafka, ClickHouse and Redis', () => {
  const envs: DistributedEnv[] = [];
  afterAll(async () => {
    await Promise.all(envs.map((e) => e.cleanup()));
  });

  it.each<[AppName, string[][]]>([
    ['ingest', [['event-bus', 'kafka'], ['store', 'clickhouse']]],
    ['detector', [['event-bus', 'kafka'], ['store', 'clickhouse']]],
    ['alert', [['event-bus', 'kafka'], ['store', 'clickhouse'], ['work-queue', 'bullmq']]],
  ])('%s reports each dependency ok on /health, then exits 0 on SIGTERM', async (app, expected) => {
    const infra = distributedEnv(app);
    envs.push(infra);
    const svc = await spawnService(app, infra.env);
    try {
      const { status, body } = await getJson<HealthBody>(`${svc.url}/health`);
      expect({ status, health: body.status, service: body.service }).toEqual({ status: 200, health: 'ok', service: app });
      expect(body.checks.map((c) => [c.name, c.detail.split(':')[0]])).toEqual(expected);
      expect(body.checks.filter((c) => !c.ok)).toEqual([]);
      expect(svc.logs().some((l) => l.component === 'store' && /^store: (migrations applied|schema up to date)$/.test(l.msg))).toBe(true);

      expect(await svc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      const at = positions(shutdownMessages(svc), SHUTDOWN_STEPS);
      expect(at.every((i) => i >= 0)).toBe(true);
    } finally {
      await svc.kill();
    }
  });

  it('alert answers 503 degraded, naming the work queue, while Redis is unreachable, and stays live', async () => {
    const infra = distributedEnv('alert_noredis');
    envs.push(infra);
    const svc = await spawnService('alert', { ...infra.env, REDIS_URL: 'redis://127.0.0.1:1', SHUTDOWN_TIMEOUT_MS: '5000' });
    try {
      const { status, body } = await getJson<HealthBody>(`${svc.url}/health`);
      expect(status).toBe(503);
      expect(body.status).toBe('degraded');
      expect(body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['work-queue']);
      expect((await fetch(`${svc.url}/health/live`)).status).toBe(200);
    } finally {
      await svc.kill();
    }
  });
});
