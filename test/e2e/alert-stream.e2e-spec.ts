import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  anomalyKey,
  SOCKET_NAMESPACE,
  TOPICS,
  type Anomaly,
  type ClientToServerEvents,
  type Incident,
  type ServerToClientEvents,
  type Severity,
  type SubscribeRequest,
} from '@vigil/contracts';
import { EVENT_BUS, loadConfig, newApiKeyToken, PlatformModule, STORE, type EventBus, type Store } from '@vigil/platform';
import { anAccessEvent, anAnomaly, uniqueName, waitFor } from '@vigil/testing';
import { setupOpenApi } from '@vigil/alert/docs/openapi';
import { IncidentsModule } from '@vigil/alert/incidents/incidents.module';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';

/**
 * The alert service's incidents part booted in-process (standalone adapters: in-process bus, SQLite store) and driven
 * as a user would: anomalies published on the bus, a real socket.io-client on `/alerts`, REST calls with API keys.
 */
jest.setTimeout(60_000);

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
interface Received {
  type: string;
  eventId: string;
  entity: string;
}

const MIN = 60_000;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-alert-e2e-'));
let app: INestApplication;
let url: string;
let store: Store;
let bus: EventBus;
const keys: Record<'reader' | 'analyst' | 'shipper', { id: string; token: string }> = {} as never;
const sockets: Client[] = [];
const BASE = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000; // event times two hours ago

beforeAll(async () => {
  const config = loadConfig({ VIGIL_MODE: 'standalone', VIGIL_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' });
  @Module({ imports: [PlatformModule.forRoot({ service: 'alert', config, logger: pino({ level: 'silent' }) }), IncidentsModule] })
  class AlertIncidentsApp {}
  app = await NestFactory.create(AlertIncidentsApp, { logger: false });
  setupOpenApi(app);
  await app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  store = app.get<Store>(STORE);
  bus = app.get<EventBus>(EVENT_BUS);
  const scopes = { reader: ['alerts:read', 'incidents:read'], analyst: ['alerts:read', 'incidents:read', 'incidents:write'], shipper: ['logs:write'] };
  for (const [name, s] of Object.entries(scopes) as [keyof typeof keys, string[]][]) {
    const t = newApiKeyToken();
    await store.apiKeys.put({ id: t.id, tenant: 'acme', name, hash: t.hash, prefix: t.prefix, scopes: s, role: name, allowedIps: [], createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0 });
    keys[name] = { id: t.id, token: t.token };
  }
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.disconnect();
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function anomalyOf(entity: string, minute: number, overrides: Partial<Anomaly> = {}): Anomaly {
  const windowStart = BASE + minute * MIN;
  return anAnomaly({ tenant: 'acme', entity, windowStart, windowEnd: windowStart + MIN, detectedAt: windowStart + MIN, ...overrides });
}

/** As the detector does: store the anomalies, then publish them. */
async function publish(...anomalies: Anomaly[]): Promise<void> {
  await store.anomalies.insert(anomalies);
  await bus.publish(TOPICS.anomalies, anomalies.map((a) => ({ key: anomalyKey(a), value: JSON.stringify(a) })));
}

function connect(token: string | undefined): { socket: Client; received: Received[] } {
  const socket: Client = io(`${url}${SOCKET_NAMESPACE}`, { transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}) });
  sockets.push(socket);
  const received: Received[] = [];
  socket.onAny((type: string, e: { eventId: string; incident?: Incident; anomaly?: Anomaly }) => {
    received.push({ type, eventId: e.eventId, entity: e.incident?.entity ?? e.anomaly?.entity ?? '' });
  });
  return { socket, received };
}

async function subscribe(socket: Client, req: SubscribeRequest) {
  await waitFor(() => socket.connected, { what: 'socket connected' });
  return socket.emitWithAck('subscribe', req);
}

function connectError(token: string | undefined): Promise<string> {
  const { socket } = connect(token);
  return new Promise((resolve) => socket.on('connect_error', (err) => resolve(err.message)));
}

describe('live stream /alerts', () => {
  it('refuses a handshake without an API key, and with a key lacking alerts:read', async () => {
    expect(await connectError(undefined)).toContain('missing API key');
    expect(await connectError(keys.shipper.token)).toContain('lacks scope alerts:read');
  });

  it('delivers an incident only to the rooms whose minimum severity it reaches', async () => {
    const high = connect(keys.reader.token);
    const all = connect(keys.reader.token);
    expect(await subscribe(high.socket, { minSeverity: 'high' })).toMatchObject({ ok: true, replayed: 0 });
    expect(await subscribe(all.socket, { tenant: 'globex' })).toEqual({ ok: true, rooms: ['alerts:acme|*|*|*'], replayed: 0 }); // tenant forced to the key's

    const lowIp = uniqueName('low').replace(/_/g, '.');
    const critIp = uniqueName('crit').replace(/_/g, '.');
    await publish(anomalyOf(lowIp, 0, { severity: 'low' }));
    await waitFor(() => all.received.some((r) => r.type === 'incident.opened' && r.entity === lowIp), { what: 'the low incident on the unfiltered socket' });
    await publish(anomalyOf(critIp, 0, { severity: 'critical' }));
    await waitFor(() => high.received.some((r) => r.type === 'incident.opened' && r.entity === critIp), { what: 'the critical incident on the high socket' });

    // Broadcast order is publish order, so had the low incident reached the high room it would be here by now.
    expect(high.received.filter((r) => r.entity === lowIp)).toEqual([]);
    expect(all.received.filter((r) => r.type === 'incident.opened').map((r) => r.entity)).toEqual([lowIp, critIp]);
  });

  it('resumes after a reconnect with exactly the events missed, from the log, then live events', async () => {
    const entity = (n: number) => `resume-${n}-${process.pid}`;
    const first = connect(keys.reader.token);
    await subscribe(first.socket, {});
    await publish(anomalyOf(entity(1), 0));
    const seen = await waitFor(() => first.received.find((r) => r.type === 'incident.opened' && r.entity === entity(1)), { what: 'first incident' });
    const lastEventId = first.received[first.received.length - 1]?.eventId ?? seen.eventId;
    first.socket.disconnect();

    await publish(anomalyOf(entity(2), 0, { severity: 'critical' }), anomalyOf(entity(3), 0));
    const missed = await waitFor(async () => {
      const logged = await store.streamEvents.listAfter({ tenant: 'acme', afterEventId: lastEventId });
      return logged.filter((e) => e.entity === entity(2) || e.entity === entity(3)).length === 4 ? logged : null; // 2 incidents + 2 anomalies
    }, { what: 'the missed events in the log' });

    const second = connect(keys.reader.token);
    const ack = await subscribe(second.socket, { lastEventId });
    expect(ack).toMatchObject({ ok: true, replayed: missed.length });
    expect(second.received.map((r) => r.eventId)).toEqual(missed.map((e) => e.eventId));

    await publish(anomalyOf(entity(4), 0));
    await waitFor(() => second.received.some((r) => r.entity === entity(4) && r.type === 'incident.opened'), { what: 'a live event after the replay' });
    const ids = second.received.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.some((id) => id <= lastEventId)).toBe(false);
  });
});

describe('REST', () => {
  const get = async (path: string, key = keys.reader.token) => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { items: Incident[]; nextCursor: string | null } };
  };
  const post = async (path: string, body: unknown, key = keys.analyst.token) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const rest = `rest-${process.pid}`;
  const severities: Severity[] = ['low', 'medium', 'high', 'critical', 'high', 'medium', 'critical'];
  beforeAll(async () => {
    const events = [anAccessEvent({ tenant: 'acme' }), anAccessEvent({ tenant: 'acme' })];
    await store.accessEvents.insert(events);
    await publish(
      ...severities.map((severity, n) => anomalyOf(`${rest}-${n}`, 180 + n, { severity, sampleEventIds: n === 0 ? events.map((e) => e.id) : [] })),
      anomalyOf(`${rest}-0`, 181, { detector: 'error-ratio', severity: 'low' }),
      anomalyOf(`tok-${rest}`, 180, { entityType: 'token', severity: 'high', contributors: { ips: [], paths: [], statuses: [] } }),
    );
    await waitFor(async () => (await store.incidents.list({ tenant: 'acme', from: BASE + 180 * MIN, limit: 100 })).items.length === 8, { what: 'the REST incidents' });
  });

  it('answers 401 without a key and 403 without incidents:read', async () => {
    expect((await fetch(`${url}/v1/incidents`)).status).toBe(401);
    expect((await get('/v1/incidents', keys.shipper.token)).status).toBe(403);
  });

  it('filters by time range, minimum severity, entity type and detector', async () => {
    const from = BASE + 180 * MIN;
    const bySeverity = await get(`/v1/incidents?from=${from}&severity=critical`);
    expect(bySeverity.body.items.map((i) => i.entity).sort()).toEqual([`${rest}-3`, `${rest}-6`]);
    const tokens = await get(`/v1/incidents?from=${from}&entityType=token`);
    expect(tokens.body.items.map((i) => i.entity)).toEqual([`tok-${rest}`]);
    const detector = await get(`/v1/incidents?from=${from}&detector=error-ratio`);
    expect(detector.body.items.map((i) => i.entity)).toEqual([`${rest}-0`]);
    // Active in [from, from + 1 ms): only the incidents whose first window started at `from`.
    expect((await get(`/v1/incidents?from=${from}&to=${from + 1}`)).body.items.map((i) => i.entity).sort()).toEqual([`${rest}-0`, `tok-${rest}`]);
  });

  it('pages with a cursor through every incident exactly once, newest activity first', async () => {
    const from = BASE + 180 * MIN;
    const seen: Incident[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await get(`/v1/incidents?from=${from}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(8);
    expect(new Set(seen.map((i) => i.id)).size).toBe(8);
    const lastSeen = seen.map((i) => i.lastSeen);
    expect([...lastSeen].sort((a, b) => b - a)).toEqual(lastSeen);
  });

  it.each([
    ['severity=urgent', 'severity'],
    ['limit=0', 'limit'],
    ['from=yesterday', 'from'],
    ['colour=red', 'colour'],
    ['cursor=not-a-cursor', 'cursor'],
  ])('rejects ?%s with a 400 naming %s', async (query, field) => {
    const res = await get(`/v1/incidents?${query}`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(field === 'cursor' ? 'Invalid page cursor' : field);
  });

  it('returns one incident with its anomalies and sample events; 404 for an unknown id', async () => {
    const { items } = (await get(`/v1/incidents?from=${BASE + 180 * MIN}&entity=${rest}-0`)).body;
    const detail = await get(`/v1/incidents/${items[0]?.id}`);
    expect(detail.status).toBe(200);
    expect((detail.body['anomalies'] as Anomaly[]).map((a) => a.detector).sort()).toEqual(['error-ratio', 'rate-zscore']);
    expect((detail.body['sampleEvents'] as unknown[]).length).toBe(2);
    expect((await get('/v1/incidents/inc_does_not_exist')).status).toBe(404);
  });

  it('acknowledges then resolves, recording the actor; refuses an invalid transition with 409', async () => {
    const { items } = (await get(`/v1/incidents?from=${BASE + 180 * MIN}&entity=${rest}-1`)).body;
    const id = items[0]?.id ?? '';
    expect((await post(`/v1/incidents/${id}/acknowledge`, { reason: 'on it' }, keys.reader.token)).status).toBe(403);
    expect((await post(`/v1/incidents/${id}/acknowledge`, {})).status).toBe(400);
    const acked = await post(`/v1/incidents/${id}/acknowledge`, { reason: 'on it' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acknowledged', history: expect.arrayContaining([expect.objectContaining({ action: 'acknowledged', actor: keys.analyst.id, reason: 'on it' })]) });
    expect((await post(`/v1/incidents/${id}/acknowledge`, { reason: 'again' })).status).toBe(409);
    expect((await post(`/v1/incidents/${id}/resolve`, { reason: 'blocked at the WAF' })).body).toMatchObject({ status: 'resolved' });
    expect((await post('/v1/incidents/inc_nope/resolve', { reason: 'x' })).status).toBe(404);
  });

  it('marks a false positive: suppresses the entity, tells the detector, and mutes its next anomaly', async () => {
    const feedback: string[] = [];
    const sub = await bus.subscribe({ topic: TOPICS.detectorFeedback, groupId: uniqueName('feedback') }, async (ms) => void feedback.push(...ms.map((m) => m.value)));
    try {
      const entity = `${rest}-2`;
      const { items } = (await get(`/v1/incidents?from=${BASE + 180 * MIN}&entity=${entity}`)).body;
      const incident = items[0] as Incident;
      expect((await post(`/v1/incidents/${incident.id}/false-positive`, { reason: 'load test' })).body).toMatchObject({ status: 'resolved' });
      const silences = (await get('/v1/silences?kind=suppression')).body as unknown as { matchers: unknown[] }[];
      expect(silences.map((s) => s.matchers)).toContainEqual([
        { field: 'detector', value: 'rate-zscore' },
        { field: 'entityType', value: 'ip' },
        { field: 'entity', value: entity },
      ]);
      await waitFor(() => feedback.length > 0, { what: 'detector feedback' });
      expect(JSON.parse(feedback[0] ?? '{}')).toMatchObject({ anomalyId: incident.anomalyIds[0], verdict: 'false_positive', actor: keys.analyst.id, entity });

      const silenced = async (): Promise<number> => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return Number(/^vigil_alert_anomalies_total\{[^}]*outcome="silenced"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      };
      const before = await silenced();
      const muted = anomalyOf(entity, 183);
      await publish(muted);
      await waitFor(async () => (await silenced()) === before + 1, { what: 'the muted anomaly silenced' });
      expect(await store.incidents.get(incident.id)).toMatchObject({ status: 'resolved', anomalyCount: incident.anomalyCount });
    } finally {
      await sub.close();
    }
  });

  it('ranks top offending IPs by anomaly count', async () => {
    const top = await get(`/v1/stats/top?from=${BASE + 180 * MIN}&limit=1`);
    expect(top.status).toBe(200);
    expect(top.body['ips']).toEqual([expect.objectContaining({ entity: `${rest}-0`, anomalies: 2 })]);
    expect(top.body['tokens']).toEqual([expect.objectContaining({ entity: `tok-${rest}`, anomalies: 1, maxSeverity: 'high' })]);
  });

  it('serves the OpenAPI document', async () => {
    const doc = (await (await fetch(`${url}/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/incidents', '/v1/incidents/{id}/false-positive', '/v1/stats/top', '/v1/silences']));
  });
});
