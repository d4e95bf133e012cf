import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { WebhookPayloadV1, type AccessEvent, type Anomaly, type Incident } from '@vigil/contracts';
import { newApiKeyToken, SqliteStore, type ApiKeyRecord, type Store, type WebhookDelivery } from '@vigil/platform';
import { ClickHouseStore } from '@vigil/platform/clickhouse/clickhouse-store';
import { anAccessEvent, renderRecord, uniqueName, waitFor } from '@vigil/testing';
import { connectAlerts, type AlertsConnection } from './helpers/alert-socket.js';
import { distributedEnv, type DistributedEnv } from './helpers/distributed-env.js';
import { spawnService, type ServiceProcess } from './helpers/service-process.js';
import { verifyStandardWebhook, WebhookReceiver } from '../fixtures/webhook-receiver.js';

/**
 * The "done when": a brute-force attack shipped as gateway logs through POST /v1/logs is detected, turned into
 * an incident, and seen in three places — a real socket.io client on /alerts, a webhook receiver that checks the
 * Standard Webhooks signature, and the REST history. Once with the standalone process, once with the three
 * distributed services on the real Kafka, ClickHouse and Redis.
 */
jest.setTimeout(240_000);

const W = 60_000;
const USERS = 8;
const ATTACKER = '198.51.100.66';
const LOGIN = '/v1/auth/login';
const BURST = 150;
const BURST_MINUTE = 12;
const MINUTES = 15;

type KeyName = 'shipper' | 'reader' | 'integrator';
const SCOPES: Record<KeyName, string[]> = {
  shipper: ['logs:write'],
  reader: ['alerts:read', 'incidents:read'],
  integrator: ['webhooks:manage', 'incidents:read'],
};

function apiKeys(tenant: string): { records: ApiKeyRecord[]; tokens: Record<KeyName, string> } {
  const tokens = {} as Record<KeyName, string>;
  const records = (Object.keys(SCOPES) as KeyName[]).map((name) => {
    const t = newApiKeyToken();
    tokens[name] = t.token;
    return {
      id: t.id, tenant, name: `e2e-${name}`, hash: t.hash, prefix: t.prefix, scopes: SCOPES[name], role: name, allowedIps: [],
      createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null, updatedAt: 0,
    } satisfies ApiKeyRecord;
  });
  return { records, tokens };
}

/**
 * One minute of gateway traffic as Kong's http-log plugin ships it: eight customers browsing with their tokens, and
 * (in the burst minute) 150 failed logins from one IP, then a few quiet requests from it afterwards so its windows close.
 */
function kongMinute(t0: number, minute: number): string[] {
  const at = t0 + minute * W;
  const events: AccessEvent[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let i = 0; i < 6; i++) {
      const path = `/v1/orders/${(u * 7 + i) % 40}`;
      events.push(anAccessEvent({ ts: at + u * 1_000 + i * 7_000, clientIp: `203.0.113.${u + 1}`, tokenId: `tk_user_${u}`, path, route: '/v1/orders/:id', query: '', status: 200 }));
    }
  }
  if (minute === BURST_MINUTE) {
    for (let i = 0; i < BURST; i++) {
      events.push(anAccessEvent({ ts: at + 2_000 + i * 300, clientIp: ATTACKER, tokenId: '', method: 'POST', path: LOGIN, route: LOGIN, query: '', status: 401, bytesOut: 64 }));
    }
  } else if (minute > BURST_MINUTE) {
    for (let i = 0; i < 3; i++) {
      events.push(anAccessEvent({ ts: at + 5_000 + i * 10_000, clientIp: ATTACKER, tokenId: '', path: '/v1/products/1', route: '/v1/products/:id', query: '', status: 200 }));
    }
  }
  return events
    .sort((a, b) => a.ts - b.ts)
    .map((e, n) => renderRecord('kong', e, { port: 40_000 + n, upstream: '10.20.3.7', consumerUuid: `4f1c0d2e-0000-4000-8000-${String(n).padStart(12, '0')}` }));
}

/** Where the scenario reaches the deployment: logs go to `ingestUrl`, everything else to `alertUrl`. */
interface Deployment {
  ingestUrl: string;
  alertUrl: string;
  tokens: Record<KeyName, string>;
}

interface Observed {
  socket: AlertsConnection;
  receiver: WebhookReceiver;
  flaky: WebhookReceiver;
  secrets: { receiver: string; flaky: string };
  flakyId: string;
  incidentsOf(entity: string): Incident[];
}

async function call<T>(d: Deployment, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${d.alertUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Subscribes a webhook receiver and a socket client, then ships the traffic minute by minute. */
async function runAttack(d: Deployment): Promise<Observed> {
  const receiver = await WebhookReceiver.start();
  const flaky = await WebhookReceiver.start();
  const hook = await call<{ id: string; secret: string }>(d, 'POST', '/v1/webhooks', d.tokens.integrator, { url: receiver.script('/hook', () => ({ status: 204 })) });
  // Fails every message three times (500), then accepts it.
  const flakyUrl = flaky.script('/hook', (attempt) => ({ status: attempt <= 3 ? 500 : 200 }));
  const flakyHook = await call<{ id: string; secret: string }>(d, 'POST', '/v1/webhooks', d.tokens.integrator, { url: flakyUrl, events: ['incident.opened'] });
  expect([hook.status, flakyHook.status]).toEqual([201, 201]);

  const socket = connectAlerts(d.alertUrl, d.tokens.reader);
  expect(await socket.subscribe({})).toMatchObject({ ok: true, replayed: 0 });

  const t0 = Math.floor(Date.now() / W) * W - (MINUTES + 2) * W;
  for (let m = 0; m < MINUTES; m++) {
    const lines = kongMinute(t0, m);
    const res = await fetch(`${d.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.tokens.shipper}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n') + '\n',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: lines.length, rejected: 0, errors: [] });
  }
  return {
    socket,
    receiver,
    flaky,
    secrets: { receiver: hook.body.secret, flaky: flakyHook.body.secret },
    flakyId: flakyHook.body.id,
    incidentsOf: (entity) => socket.received.flatMap((r) => (r.incident?.entity === entity ? [r.incident] : [])),
  };
}

/** The assertions every deployment must pass. `get` returns what `runAttack` observed once it has run. */
function describeSeenInThreePlaces(get: () => { d: Deployment; o: Observed }): void {
  const payloads = (r: WebhookReceiver) => r.arrivals.map((w) => ({ w, payload: WebhookPayloadV1.parse(JSON.parse(w.body)) }));

  it('pushes incident.opened for the attacking IP, with the brute-force detector, to the socket.io client', async () => {
    const { o } = get();
    const opened = await waitFor(() => o.socket.received.find((r) => r.type === 'incident.opened' && r.incident?.entity === ATTACKER), {
      timeoutMs: 120_000,
      what: `incident.opened for ${ATTACKER} on the socket`,
    });
    expect(opened.incident).toMatchObject({ tenant: expect.any(String), entityType: 'ip', status: 'open' });
    // The incident may open on another detector's anomaly (a rate spike of the same IP) and gain brute-force next.
    const latest = await waitFor(() => o.incidentsOf(ATTACKER).find((i) => i.detectors.includes('brute-force')), { timeoutMs: 60_000, what: 'the brute-force detector on the socket' });
    expect(latest.id).toBe(opened.incident?.id);
    expect(latest.explanation).toContain(ATTACKER);
    // Eight customers browsing as usual are nobody's incident.
    expect(o.socket.received.filter((r) => r.incident?.entity.startsWith('203.0.113.'))).toEqual([]);
  });

  it('delivers a correctly signed incident.opened webhook whose payload explains the incident', async () => {
    const { o } = get();
    const { w, payload } = await waitFor(
      () => payloads(o.receiver).find((p) => p.payload.type === 'incident.opened' && p.payload.data.incident.entity === ATTACKER),
      { timeoutMs: 120_000, what: `the incident.opened webhook for ${ATTACKER}` },
    );
    expect(verifyStandardWebhook(o.secrets.receiver, w)).toBe(true);
    expect(verifyStandardWebhook(o.secrets.receiver, { ...w, body: w.body.replace(ATTACKER, '198.51.100.67') })).toBe(false);
    expect(payload).toMatchObject({ version: 'v1', id: w.id, groupKey: expect.any(String) });
    const socketIncident = o.socket.received.find((r) => r.type === 'incident.opened' && r.incident?.entity === ATTACKER)?.incident;
    expect(payload.data.incident.id).toBe(socketIncident?.id);
    expect(payload.data.incident.explanation).toMatch(new RegExp(`^IP ${ATTACKER.replace(/\./g, '\\.')} `));
    expect(payload.data.incident.explanation.length).toBeGreaterThan(40);
  });

  it('lists the incident in the REST history for the IP, with its brute-force anomaly and the failed logins as evidence', async () => {
    const { d, o } = get();
    const id = await waitFor(() => o.incidentsOf(ATTACKER).find((i) => i.detectors.includes('brute-force'))?.id, { timeoutMs: 120_000, what: 'the brute-force incident' });
    const list = await call<{ items: Incident[] }>(d, 'GET', `/v1/incidents?entity=${ATTACKER}`, d.tokens.reader);
    expect(list.status).toBe(200);
    expect(list.body.items.map((i) => [i.id, i.entity, i.status])).toEqual([[id, ATTACKER, 'open']]);
    const detail = await call<{ incident: Incident; anomalies: Anomaly[]; sampleEvents: AccessEvent[] }>(d, 'GET', `/v1/incidents/${id}`, d.tokens.reader);
    expect(detail.status).toBe(200);
    const bf = detail.body.anomalies.filter((a) => a.detector === 'brute-force');
    expect(bf).toHaveLength(1);
    expect(bf[0]).toMatchObject({ entityType: 'ip', entity: ATTACKER });
    expect(bf[0]!.contributors.statuses[0]?.value).toBe('401');
    expect(bf[0]!.contributors.paths[0]?.value).toBe(LOGIN);
    expect(bf[0]!.observed).toBeGreaterThanOrEqual(10);
    expect(detail.body.incident.anomalyIds).toEqual(expect.arrayContaining([bf[0]!.id]));
    expect(detail.body.sampleEvents.length).toBeGreaterThan(0);
    expect(detail.body.sampleEvents.every((e) => e.clientIp === ATTACKER)).toBe(true);
  });

  it('delivers to a receiver that fails three times exactly once successfully, same webhook-id and a valid signature every time', async () => {
    const { d, o } = get();
    const first = await waitFor(() => o.flaky.arrivals.find((w) => w.answered === 200), { timeoutMs: 120_000, what: 'a successful delivery to the flaky receiver' });
    const attempts = o.flaky.arrivals.filter((w) => w.id === first.id);
    expect(attempts.map((w) => w.answered)).toEqual([500, 500, 500, 200]);
    expect(attempts.every((w) => verifyStandardWebhook(o.secrets.flaky, w) && w.body === first.body)).toBe(true);
    const log = await waitFor(async () => {
      const r = await call<WebhookDelivery[]>(d, 'GET', `/v1/webhooks/${o.flakyId}/deliveries?eventId=${encodeURIComponent(first.id)}`, d.tokens.integrator);
      return r.body.length === 4 ? r.body : null;
    }, { what: 'four delivery attempts in the log' });
    expect(log.sort((a, b) => a.attempt - b.attempt).map((x) => [x.attempt, x.status, x.httpStatus])).toEqual([
      [1, 'failed', 500], [2, 'failed', 500], [3, 'failed', 500], [4, 'succeeded', 200],
    ]);
    // Every message the flaky receiver accepted, it accepted once.
    const accepted = o.flaky.arrivals.filter((w) => w.answered === 200).map((w) => w.id);
    expect(new Set(accepted).size).toBe(accepted.length);
  });
}

describe('brute force through the standalone process', () => {
  let svc: ServiceProcess;
  let d: Deployment;
  let o: Observed;

  beforeAll(async () => {
    const tenant = 'acme';
    const dataDir = join(mkdtempSync(join(tmpdir(), 'vigil-e2e-pipeline-')), 'data');
    const { records, tokens } = apiKeys(tenant);
    const store: Store = new SqliteStore({ path: join(dataDir, 'vigil.sqlite') });
    await store.migrate();
    for (const r of records) await store.apiKeys.put(r);
    await store.close();
    svc = await spawnService('standalone', {
      VIGIL_DATA_DIR: dataDir,
      VIGIL_TENANT: tenant,
      VIGIL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      VIGIL_WEBHOOK_BREAKER_THRESHOLD: '100',
    });
    d = { ingestUrl: svc.url, alertUrl: svc.url, tokens };
    o = await runAttack(d);
  });
  afterAll(async () => {
    o?.socket.close();
    await Promise.all([o?.receiver.close(), o?.flaky.close(), svc?.kill()]);
  });

  describeSeenInThreePlaces(() => ({ d, o }));
});

describe('brute force through the distributed services (Kafka, ClickHouse, Redis)', () => {
  let env: DistributedEnv;
  const services: ServiceProcess[] = [];
  let d: Deployment;
  let o: Observed;

  beforeAll(async () => {
    env = distributedEnv('pipeline');
    const tenant = uniqueName('acme');
    const { records, tokens } = apiKeys(tenant);
    const store = new ClickHouseStore({ url: env.env.CLICKHOUSE_URL!, user: 'default', password: '', database: env.database });
    await store.migrate();
    for (const r of records) await store.apiKeys.put(r);
    await store.close();
    // Topics of our own between the services: the detector's event-time watermarks must not see other runs' traffic,
    // and the alert service need not read every other run's anomalies.
    const topics = {
      VIGIL_ACCESS_EVENTS_TOPIC: uniqueName('e2e-access-events'),
      VIGIL_DETECTOR_REKEY_TOPIC: uniqueName('e2e-rekeyed'),
      VIGIL_DETECTOR_ANOMALIES_TOPIC: uniqueName('e2e-anomalies'),
    };
    const common = { ...env.env, ...topics, VIGIL_TENANT: tenant };
    const [ingest, detector, alert] = await Promise.all([
      spawnService('ingest', common, 60_000),
      spawnService('detector', { ...common, VIGIL_DETECTOR_LATENESS_MS: '5000' }, 60_000),
      spawnService('alert', { ...common, VIGIL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', VIGIL_WEBHOOK_BREAKER_THRESHOLD: '100' }, 60_000),
    ]);
    services.push(ingest!, detector!, alert!);
    d = { ingestUrl: ingest!.url, alertUrl: alert!.url, tokens };
    o = await runAttack(d);
  });
  afterAll(async () => {
    o?.socket.close();
    await Promise.all([o?.receiver.close(), o?.flaky.close(), ...services.map((s) => s.stop())]);
    await env?.cleanup();
  });

  describeSeenInThreePlaces(() => ({ d, o }));
});
