import { AccessEvent, validate } from '@vigil/contracts';

const good: AccessEvent = {
  v: 1, id: 'e1', tenant: 't', ts: 1_700_000_000_000, format: 'nginx', clientIp: '203.0.113.9', method: 'GET',
  path: '/v1/orders/1', query: '', route: '/v1/orders/:id', status: 200, latencyMs: 12.5, bytesIn: 0, bytesOut: 512,
  userAgent: 'curl/8', apiVersion: 'v1', tls: 'TLSv1.3', tokenId: '', country: '', asn: 0, requestId: '', host: '',
};

describe('validate', () => {
  it('accepts a well-formed AccessEvent', () => {
    expect(validate(AccessEvent, good)).toEqual({ ok: true, value: good });
  });
  it.each([
    ['status', 99, 'status: '],
    ['status', 600, 'status: '],
    ['latencyMs', -1, 'latencyMs: '],
    ['ts', 1.5, 'ts: '],
  ])('rejects %s = %p with a reason naming the field', (field, value, prefix) => {
    const r = validate(AccessEvent, { ...good, [field]: value });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.startsWith(prefix)).toBe(true);
  });
});
