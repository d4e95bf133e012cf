import { createHash } from 'node:crypto';
import { AccessEvent, Anomaly, DeadLetter, Incident } from '@vigil/contracts';
import type { ApiKeyRecord, WebhookDelivery, WebhookSubscription } from '@vigil/platform';

/**
 * Factories for realistic, valid records. Every call returns a new id (a per-process sequence), so two
 * calls never collide unless the test asks for it. Contract records are parsed with their zod schema,
 * so an override that makes a record invalid fails loudly here rather than deep inside the code under test.
 * Times default to around 2024-03-10T12:00Z; pass `ts`, `detectedAt`, … when a test depends on them.
 */
export const FACTORY_BASE_TIME = Date.UTC(2024, 2, 10, 12, 0, 0);

let sequence = 0;
function next(): number {
  sequence += 1;
  return sequence;
}
const pad = (n: number): string => n.toString().padStart(6, '0');

export function anAccessEvent(overrides: Partial<AccessEvent> = {}): AccessEvent {
  const n = next();
  return AccessEvent.parse({
    v: 1,
    id: `evt-${pad(n)}`,
    tenant: 'acme',
    ts: FACTORY_BASE_TIME + n * 1000,
    format: 'kong',
    clientIp: `203.0.113.${(n % 250) + 1}`,
    method: 'GET',
    path: `/v1/orders/${10_000 + n}`,
    query: 'expand=items&currency=EUR',
    route: '/v1/orders/:id',
    status: 200,
    latencyMs: 23.417,
    bytesIn: 312,
    bytesOut: 4812,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0',
    apiVersion: 'v1',
    tls: 'TLSv1.3',
    tokenId: 'consumer-mobile-app',
    country: 'DE',
    asn: 3320,
    requestId: `7f3c9a2e-${pad(n)}-4b1d-9e0a-kong`,
    host: 'api.acme.example',
    ...overrides,
  });
}

export function anAnomaly(overrides: Partial<Anomaly> = {}): Anomaly {
  const n = next();
  const windowStart = overrides.windowStart ?? FACTORY_BASE_TIME + n * 60_000;
  const windowEnd = overrides.windowEnd ?? windowStart + 60_000;
  const entity = overrides.entity ?? '203.0.113.7';
  return Anomaly.parse({
    v: 1,
    id: `anm-${pad(n)}`,
    tenant: 'acme',
    detector: 'rate-zscore',
    entityType: 'ip',
    entity,
    metric: 'requests_per_minute',
    windowStart,
    windowEnd,
    detectedAt: windowEnd,
    early: false,
    observed: 482,
    expected: 41.75,
    lower: 0,
    upper: 96.3,
    score: 0.97,
    severity: 'high',
    explanation: `${entity} sent 482 requests/min against a baseline of 41.75 (upper bound 96.3)`,
    contributors: {
      ips: [{ value: entity, count: 482 }],
      paths: [
        { value: '/v1/login', count: 451 },
        { value: '/v1/orders', count: 31 },
      ],
      statuses: [
        { value: '401', count: 447 },
        { value: '200', count: 35 },
      ],
    },
    sampleEventIds: [`evt-${pad(n)}-a`, `evt-${pad(n)}-b`],
    ...overrides,
  });
}

export function anIncident(overrides: Partial<Incident> = {}): Incident {
  const n = next();
  const firstSeen = overrides.firstSeen ?? FACTORY_BASE_TIME + n * 60_000;
  const lastSeen = overrides.lastSeen ?? firstSeen + 120_000;
  const createdAt = overrides.createdAt ?? firstSeen + 450;
  return Incident.parse({
    v: 1,
    id: `inc-${pad(n)}`,
    tenant: 'acme',
    status: 'open',
    severity: 'high',
    title: 'Credential stuffing from 203.0.113.7',
    entityType: 'ip',
    entity: '203.0.113.7',
    related: [
      { type: 'endpoint', value: 'POST /v1/login' },
      { type: 'token', value: 'consumer-mobile-app' },
    ],
    detectors: ['rate-zscore', 'error-ratio'],
    anomalyIds: [`anm-${pad(n)}-1`, `anm-${pad(n)}-2`],
    anomalyCount: 2,
    maxScore: 0.97,
    explanation: '447 of 482 requests to POST /v1/login returned 401 within one minute',
    firstSeen,
    lastSeen,
    createdAt,
    updatedAt: overrides.updatedAt ?? createdAt,
    resolvedAt: null,
    history: [{ at: createdAt, actor: 'system', action: 'opened', reason: 'rate-zscore score 0.97 ≥ 0.9' }],
    revision: 1,
    ...overrides,
  });
}

export function anApiKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const n = next();
  const secret = `vgl_live_${pad(n)}_s3cr3t`;
  const createdAt = overrides.createdAt ?? FACTORY_BASE_TIME + n * 1000;
  return {
    id: `key-${pad(n)}`,
    tenant: 'acme',
    name: 'ci-pipeline',
    hash: createHash('sha256').update(secret).digest('hex'),
    prefix: secret.slice(0, 12),
    scopes: ['incidents:read', 'events:read'],
    role: 'viewer',
    allowedIps: ['10.0.0.0/8', '192.0.2.10'],
    createdAt,
    expiresAt: createdAt + 90 * 86_400_000,
    revokedAt: null,
    lastUsedAt: null,
    updatedAt: overrides.updatedAt ?? createdAt,
    ...overrides,
  };
}

export function aWebhookSubscription(overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  const n = next();
  const createdAt = overrides.createdAt ?? FACTORY_BASE_TIME + n * 1000;
  return {
    id: `whs-${pad(n)}`,
    tenant: 'acme',
    url: `https://hooks.acme.example/vigil/${n}`,
    secret: `whsec_${Buffer.from(`secret-${pad(n)}-0123456789abcdef`).toString('base64')}`,
    events: ['incident.opened', 'incident.resolved'],
    minSeverity: 'medium',
    enabled: true,
    createdAt,
    updatedAt: overrides.updatedAt ?? createdAt,
    deleted: false,
    ...overrides,
  };
}

export function aDelivery(overrides: Partial<WebhookDelivery> = {}): WebhookDelivery {
  const n = next();
  return {
    id: `dlv-${pad(n)}`,
    subscriptionId: 'whs-000001',
    eventId: `msg-${pad(n)}`,
    attempt: 1,
    status: 'succeeded',
    httpStatus: 200,
    error: '',
    durationMs: 143.52,
    at: FACTORY_BASE_TIME + n * 1000,
    ...overrides,
  };
}

export function aDeadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  const n = next();
  return DeadLetter.parse({
    v: 1,
    id: `dlq-${pad(n)}`,
    tenant: 'acme',
    receivedAt: FACTORY_BASE_TIME + n * 1000,
    source: `kafka:vigil.access-logs.raw/3@${1800 + n}`,
    reason: 'status: Too big: expected number to be <=599',
    raw: `{"request":{"method":"GET","uri":"/v1/orders/${n}"},"response":{"status":700},"latencies":{"request":12}}`,
    ...overrides,
  });
}
