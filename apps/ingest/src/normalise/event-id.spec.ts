import { createHash } from 'node:crypto';
import { contentEventId, requestEventId } from './event-id.js';

/** The id as documented: sha-256 over the NUL-joined fields, times in plain decimal (String(ts)), first 32 hex. */
function reference(tenant: string, format: string, requestId: string, e: { ts: number; clientIp: string; method: string; path: string; status: number }): string {
  const text = [tenant, format, requestId, String(e.ts), e.clientIp, e.method, e.path, String(e.status)].join('\u0000');
  return 'r_' + createHash('sha256').update(text).digest('hex').slice(0, 32);
}

describe(requestEventId.name, () => {
  // Ids are stored and deduplicated on: a faster formatting of the time must not change a single id.
  it.each([
    0, 1, 999_999_999, 1_000_000_000, 1_000_000_001, 1_715_680_800_000, 1_715_680_800_001, 1_715_680_000_999, 1_715_680_999_000,
    1_715_681_000_000, 4_102_444_800_000, 999_999_999_999_999, 1e15, 1e15 + 1, 1.5, 1_715_680_800_000.25,
  ])('gives the documented id for ts %p', (ts) => {
    const e = { ts, clientIp: '203.0.113.7', method: 'GET', path: '/v1/orders/8812', status: 200 };
    expect(requestEventId('acme', 'kong', 'req-1', e)).toBe(reference('acme', 'kong', 'req-1', e));
  });

  it('gives the documented id for times spread over every digit position', () => {
    let seed = 12345;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const ts = 1_000_000_000 + Math.floor((seed / 2147483648) * 10 ** (9 + (i % 7)));
      const e = { ts, clientIp: '203.0.113.7', method: 'GET', path: '/v1/orders/8812', status: 200 };
      expect(requestEventId('acme', 'kong', 'req-1', e)).toBe(reference('acme', 'kong', 'req-1', e));
    }
  });

  it('differs when any identifying field differs', () => {
    const e = { ts: 1_715_680_800_000, clientIp: '203.0.113.7', method: 'GET', path: '/v1/orders/8812', status: 200 };
    const id = requestEventId('acme', 'kong', 'req-1', e);
    expect(requestEventId('acme', 'kong', 'req-1', { ...e, ts: e.ts + 1 })).not.toBe(id);
    expect(requestEventId('acme', 'kong', 'req-1', { ...e, ts: e.ts + 1_000_000 })).not.toBe(id);
    expect(requestEventId('acme', 'kong', 'req-1', { ...e, path: '/v1/orders/8813' })).not.toBe(id);
  });
});

describe(contentEventId.name, () => {
  it('hashes tenant, format and the record text', () => {
    const text = 'acme\u0000nginx\u000010.0.0.2 - - [14/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"';
    const want = 'c_' + createHash('sha256').update(text).digest('hex').slice(0, 32);
    expect(contentEventId('acme', 'nginx', text.split('\u0000')[2]!)).toBe(want);
  });
});
