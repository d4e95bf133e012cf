import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { HttpAdapterHost } from '@nestjs/core';
import {
  SOCKET_NAMESPACE,
  type ClientToServerEvents,
  type Incident,
  type IncidentStreamEvent,
  type ServerToClientEvents,
  type Severity,
  type SubscribeRequest,
} from '@vigil/contracts';
import { ApiKeyAuthenticator, InProcessEventBus, loadConfig, newApiKeyToken, systemClock, type VigilConfig } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anIncident, testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { AlertsGateway } from '@vigil/alert/gateway/alerts.gateway';
import { StreamPublisher } from '@vigil/alert/gateway/stream-publisher';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';

/**
 * Two alert instances of one deployment, each with its own HTTP server and socket.io gateway, sharing the socket.io
 * Redis adapter on the real Redis and one ClickHouse database: what one instance publishes reaches the clients of the
 * other, once.
 */
jest.setTimeout(60_000);

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const logger = pino({ level: process.env.ALERT_IT_LOG_LEVEL ?? 'silent' });
const { clickhouseUrl, redisUrl, kafkaBrokers } = testEndpoints();

interface Instance {
  url: string;
  publisher: StreamPublisher;
  close(): Promise<void>;
}

/** One alert instance: the gateway on its own HTTP server, with the configuration a distributed alert process has. */
async function startInstance(config: VigilConfig, store: ClickHouseStore): Promise<Instance> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = new HttpAdapterHost();
  // The gateway only asks the adapter host for the HTTP server to attach socket.io to.
  host.httpAdapter = { getHttpServer: () => server } as unknown as HttpAdapterHost['httpAdapter'];
  const bus = new InProcessEventBus({ clock: systemClock, logger }); // vigil.incidents for webhooks: not under test here
  const publisher = new StreamPublisher(store, bus, systemClock, logger);
  const gateway = new AlertsGateway(host, new ApiKeyAuthenticator(store.apiKeys, systemClock), publisher, store, config, logger);
  await gateway.onApplicationBootstrap();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publisher,
    close: async () => {
      await gateway.onModuleDestroy();
      await bus.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('alerts gateway across instances (socket.io Redis adapter)', () => {
  const tenant = uniqueName('acme');
  const database = uniqueName('it_alert_socket').replace(/[^A-Za-z0-9_]/g, '_');
  const config = loadConfig({
    VIGIL_MODE: 'distributed',
    KAFKA_BROKERS: kafkaBrokers.join(','),
    KAFKA_GROUP_PREFIX: uniqueName('it-alert-socket'),
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    REDIS_URL: redisUrl,
    VIGIL_HASH_KEY: 'it-hash-key-0123456789abcdef',
  });
  const store = new ClickHouseStore({ url: clickhouseUrl, user: 'default', password: '', database });
  const token = newApiKeyToken();
  const clients: Client[] = [];
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    await store.migrate();
    await store.apiKeys.put({
      id: token.id, tenant, name: 'it-reader', hash: token.hash, prefix: token.prefix, scopes: ['alerts:read'], role: 'viewer', allowedIps: [],
      createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0,
    });
    [a, b] = await Promise.all([startInstance(config, store), startInstance(config, store)]);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await store.close();
    await fetch(clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
  });

  /** A subscribed client of an instance, and every incident event it received. */
  async function subscribed(instance: Instance, req: SubscribeRequest = {}): Promise<{ got: { type: string; e: IncidentStreamEvent }[] }> {
    const socket: Client = io(`${instance.url}${SOCKET_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: token.token } });
    clients.push(socket);
    const got: { type: string; e: IncidentStreamEvent }[] = [];
    socket.onAny((type: string, e: IncidentStreamEvent) => void got.push({ type, e }));
    await waitFor(() => socket.connected, { what: 'the socket to connect' });
    expect(await socket.emitWithAck('subscribe', req)).toMatchObject({ ok: true });
    return { got };
  }

  const incident = (severity: Severity): Incident => anIncident({ tenant, severity, entity: uniqueName('ip') });
  const opened = (i: Incident) => [{ type: 'incident.opened' as const, incident: i }];
  const entitiesOf = (got: { e: IncidentStreamEvent }[]) => got.map((g) => g.e.incident.entity);

  it('delivers an incident published by instance B to a client of instance A exactly once, and to B\'s own client once', async () => {
    const onA = await subscribed(a);
    const onB = await subscribed(b);
    const first = incident('high');
    const sentinel = incident('high');
    await b.publisher.incidents(opened(first));
    await b.publisher.incidents(opened(sentinel));
    // One publisher's broadcasts travel in order through one Redis channel: once the sentinel is here, any duplicate of
    // the first event would be too.
    await waitFor(() => entitiesOf(onA.got).includes(sentinel.entity), { what: 'the sentinel on instance A' });
    await waitFor(() => entitiesOf(onB.got).includes(sentinel.entity), { what: 'the sentinel on instance B' });
    expect(onA.got.map((g) => [g.type, g.e.incident.id])).toEqual([
      ['incident.opened', first.id],
      ['incident.opened', sentinel.id],
    ]);
    expect(onB.got.map((g) => g.e.eventId)).toEqual(onA.got.map((g) => g.e.eventId));
    expect(onA.got[0]?.e.incident).toEqual(first);
  });

  it('applies the subscription filter of a client on A to events published on B', async () => {
    const critical = await subscribed(a, { minSeverity: 'critical' });
    const all = await subscribed(a);
    const low = incident('low');
    const crit = incident('critical');
    await b.publisher.incidents(opened(low));
    await b.publisher.incidents(opened(crit));
    await waitFor(() => entitiesOf(critical.got).includes(crit.entity) && entitiesOf(all.got).includes(crit.entity), { what: 'the critical incident on A' });
    expect(entitiesOf(critical.got)).toEqual([crit.entity]);
    expect(entitiesOf(all.got)).toEqual([low.entity, crit.entity]);
  });

  it('delivers events published on both instances to a client of either, each once', async () => {
    const onA = await subscribed(a);
    const onB = await subscribed(b);
    const fromA = incident('medium');
    const fromB = incident('medium');
    await Promise.all([a.publisher.incidents(opened(fromA)), b.publisher.incidents(opened(fromB))]);
    const sentinelA = incident('medium');
    const sentinelB = incident('medium');
    await Promise.all([a.publisher.incidents(opened(sentinelA)), b.publisher.incidents(opened(sentinelB))]);
    for (const c of [onA, onB]) {
      await waitFor(() => entitiesOf(c.got).includes(sentinelA.entity) && entitiesOf(c.got).includes(sentinelB.entity), { what: 'both sentinels' });
      expect([...entitiesOf(c.got)].sort()).toEqual([fromA, fromB, sentinelA, sentinelB].map((i) => i.entity).sort());
    }
  });
});
