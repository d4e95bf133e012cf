import { AccessEvent, validate } from '@vigil/contracts';
import { checkAccessEvent } from './check-event.js';

const good: AccessEvent = {
  v: 1, id: 'r_0123', tenant: 'acme', ts: 1_715_680_800_000, format: 'kong', clientIp: '203.0.113.7', method: 'GET',
  path: '/v1/orders/8812', query: 'limit=5', route: '/v1/orders/:id', status: 200, latencyMs: 12.5, bytesIn: 0, bytesOut: 512,
  userAgent: 'python-requests/2.31', apiVersion: 'v1', tls: 'TLSv1.3', tokenId: 'acme-bot', country: 'NL', asn: 1136,
  requestId: 'abc', host: 'api.example.com',
};

/** Field mutations at and around every limit of the schema. */
const cases: [string, unknown][] = [
  ['v', 2], ['id', ''], ['id', 'x'.repeat(128)], ['id', 'x'.repeat(129)], ['tenant', ''], ['tenant', 't'.repeat(129)],
  ['ts', -1], ['ts', 1.5], ['ts', 0], ['ts', Number.NaN], ['ts', '1715680800000'], ['format', 'haproxy'], ['format', 'vigil'],
  ['clientIp', ''], ['clientIp', 'x'.repeat(64)], ['clientIp', 'x'.repeat(65)], ['method', ''], ['method', 'M'.repeat(16)],
  ['method', 'M'.repeat(17)], ['path', ''], ['path', 'p'.repeat(8192)], ['path', 'p'.repeat(8193)], ['query', 'q'.repeat(8193)],
  ['route', 'r'.repeat(1024)], ['route', 'r'.repeat(1025)], ['status', 99], ['status', 100], ['status', 599], ['status', 600],
  ['status', 200.5], ['latencyMs', -0.001], ['latencyMs', 0], ['latencyMs', 3_600_000], ['latencyMs', 3_600_000.1],
  ['latencyMs', Number.NaN], ['latencyMs', Number.POSITIVE_INFINITY], ['bytesIn', -1], ['bytesIn', 1.5], ['bytesOut', -1],
  ['bytesOut', 2 ** 40], ['bytesOut', Number.NaN], ['userAgent', 'u'.repeat(2048)], ['userAgent', 'u'.repeat(2049)],
  ['apiVersion', 'v'.repeat(65)], ['tls', 't'.repeat(33)], ['tokenId', 'k'.repeat(257)], ['country', 'c'.repeat(9)],
  ['asn', -1], ['asn', 1.5], ['asn', 0], ['requestId', 'r'.repeat(257)], ['host', 'h'.repeat(513)], ['host', undefined],
  ['userAgent', null],
];

describe(checkAccessEvent.name, () => {
  it('accepts the valid event, as the schema does', () => {
    expect(checkAccessEvent(good)).toBeNull();
    expect(validate(AccessEvent, good).ok).toBe(true);
  });

  it.each(cases)('agrees with the zod schema when %s = %p', (field, value) => {
    const e = { ...good, [field]: value } as AccessEvent;
    const zod = validate(AccessEvent, e);
    const ours = checkAccessEvent(e);
    expect({ field, accepted: ours === null }).toEqual({ field, accepted: zod.ok });
    if (ours !== null) expect(ours.startsWith(`${field}: `)).toBe(true);
  });
});
