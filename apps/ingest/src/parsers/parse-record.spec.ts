import { HASH_KEY, NOW, SAME_REQUEST, STARTED_AT, TENANT, TRUSTED_PROXIES } from '../../test-fixtures/same-request.js';
import { VARIANTS } from '../../test-fixtures/variants.js';
import { REJECT_REASONS, type RejectReason } from '../normalise/reject.js';
import { detectFormat, formatFromHeader, keyedHash, parseRecord } from './index.js';
import type { ParseContext, ParseResult } from './types.js';

const ctx: ParseContext = { tenant: TENANT, now: NOW, trustedProxies: TRUSTED_PROXIES, hashKey: HASH_KEY };
const kong = (): Record<string, unknown> => JSON.parse(SAME_REQUEST.kong) as Record<string, unknown>;
const kongWith = (mut: (r: Record<string, any>) => void): string => {
  const r = kong();
  mut(r);
  return JSON.stringify(r);
};
const nginxLine = (request: string, ua = 'python-requests/2.31') =>
  `10.0.0.2 - - [14/May/2024:10:00:00 +0000] "${request}" 200 512 "-" "${ua}" "203.0.113.7" 0.013 "acme-bot"`;

function accepted(r: ParseResult) {
  if (!r.ok) throw new Error(`rejected: ${r.reason}: ${r.message}`);
  return r.event;
}

describe(parseRecord.name, () => {
  describe('rejections', () => {
    const cases: [RejectReason, string | object, Partial<ParseContext>, RegExp][] = [
      ['oversized', SAME_REQUEST.kong, { maxRecordBytes: 1000 }, /over the 1000-byte limit/],
      ['oversized', '{"x":"' + 'é'.repeat(40_000) + '"}', {}, /over the 65536-byte limit/],
      ['invalid_json', '{"request": {"method": "GET"', {}, /invalid JSON/],
      ['invalid_json', 'GET / HTTP/1.1', { format: 'kong' }, /expects a JSON object/],
      ['unknown_format', '{"hello": "world", "level": "info"}', {}, /no known gateway format.*hello/],
      ['unknown_format', 'Mar 14 10:00:00 host sshd[1]: Accepted publickey', {}, /not JSON and not an nginx/],
      ['malformed', '', {}, /empty record/],
      ['malformed', SAME_REQUEST.kong, { format: 'nginx' }, /not an nginx combined log line/],
      ['malformed', kong(), { format: 'nginx' }, /expects a text line/],
      ['malformed', nginxLine('-'), {}, /request line/],
      ['missing_timestamp', kongWith((r) => delete r.started_at), {}, /no timestamp/],
      ['invalid_timestamp', kongWith((r) => (r.started_at = 'soon')), {}, /unparsable timestamp "soon"/],
      ['absurd_timestamp', kongWith((r) => (r.started_at = NOW + 2 * 86_400_000)), {}, /in the future/],
      ['absurd_timestamp', kongWith((r) => (r.started_at = NOW - 31 * 86_400_000)), {}, /old/],
      ['absurd_timestamp', SAME_REQUEST.kong, { now: STARTED_AT + 3_600_000 + 1, maxAgeMs: 3_600_000 }, /3600000 ms old/],
      ['invalid_method', kongWith((r) => (r.request.method = 'GET /x')), {}, /not an HTTP method/],
      ['invalid_method', kongWith((r) => (r.request.method = '')), {}, /not an HTTP method/],
      ['invalid_status', kongWith((r) => (r.response.status = 999)), {}, /999.*100–599/],
      ['invalid_status', kongWith((r) => delete r.response.status), {}, /no status/],
      ['invalid_latency', kongWith((r) => (r.latencies.request = -3)), {}, /latency -3/],
      ['invalid_latency', kongWith((r) => (r.latencies.request = 'slow')), {}, /latency/],
      ['invalid_latency', kongWith((r) => (r.latencies.request = 7_200_000)), {}, /latency 7200000/],
      ['control_characters', kongWith((r) => (r.request.uri = '/v1/orders\r\nX-Injected: 1')), {}, /control characters.*\\r\\n/],
      ['control_characters', kongWith((r) => (r.request.headers.host = 'api.example.com\u0000evil')), {}, /control characters/],
      ['control_characters', nginxLine('GET /a\\x0Ab HTTP/1.1'), {}, /control characters/],
      ['invalid_ip', kongWith((r) => (r.client_ip = '999.1.1.1')), {}, /not an IP address: "999.1.1.1"/],
      ['invalid_ip', kongWith((r) => (r.request.headers['x-forwarded-for'] = 'unknown')), {}, /not an IP address: "unknown"/],
      ['invalid_ip', kongWith((r) => { delete r.client_ip; delete r.request.headers['x-forwarded-for']; }), {}, /no client address/],
      ['schema', kongWith((r) => (r.response.size = -5)), {}, /^bytesOut: /],
      ['schema', kongWith((r) => (r.request.size = 1.5)), {}, /^bytesIn: /],
    ];

    it.each(cases)('%s: %#', (reason, input, extra, message) => {
      const r = parseRecord(input, { ...ctx, ...extra });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe(reason);
      expect(r.message).toMatch(message);
      // The dead-letter gets the record exactly as it came.
      expect(r.raw).toBe(typeof input === 'string' ? input : JSON.stringify(input));
    });

    it('covers every reject reason', () => {
      expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(REJECT_REASONS));
    });

    it('reports the same reason through the zod check as through the hand-written one', () => {
      const raw = kongWith((r) => (r.response.size = -5));
      const r = parseRecord(raw, { ...ctx, zodCheck: true });
      expect(r.ok === false && r.reason).toBe('schema');
      expect(r.ok === false && r.message).toMatch(/^bytesOut: /);
    });

    it('names the detected format in a rejection', () => {
      const r = parseRecord(kongWith((r) => (r.response.status = 0)), ctx);
      expect(r.ok === false && r.format).toBe('kong');
    });
  });

  describe('format selection', () => {
    it('detects per record, so one batch can mix formats', () => {
      const formats = [SAME_REQUEST.nginx, SAME_REQUEST.envoy, SAME_REQUEST.tyk].map((raw) => accepted(parseRecord(raw, ctx)).format);
      expect(formats).toEqual(['nginx', 'envoy', 'tyk']);
    });

    it('uses a forced format even when the shape would be detected as another', () => {
      // A Kong record forced through the APISIX parser has no start_time: it is rejected, not re-detected.
      const r = parseRecord(SAME_REQUEST.kong, { ...ctx, format: 'apisix' });
      expect(r.ok === false && [r.reason, r.format]).toEqual(['missing_timestamp', 'apisix']);
    });

    it('accepts an already-parsed JSON object', () => {
      const e = accepted(parseRecord(kong(), ctx));
      expect([e.format, e.clientIp, e.tokenId]).toEqual(['kong', '203.0.113.7', 'acme-bot']);
    });

    it('rejects a JSON array or scalar', () => {
      expect(parseRecord('[1,2]', ctx)).toMatchObject({ ok: false, reason: 'invalid_json' });
      expect(parseRecord([1, 2], ctx)).toMatchObject({ ok: false, reason: 'invalid_json' });
    });

    it.each([
      ['kong', 'kong'],
      [' Traefik ', 'traefik'],
      ['', 'auto'],
      [undefined, 'auto'],
      ['AUTO', 'auto'],
      ['haproxy', null],
    ] as const)('formatFromHeader(%p) → %p', (header, format) => {
      expect(formatFromHeader(header)).toBe(format);
    });

    it('detectFormat returns null for what no parser accepts', () => {
      expect(detectFormat('{"msg":"hello"}')).toBeNull();
      expect(detectFormat('{not json')).toBeNull();
      expect(detectFormat('plain text')).toBeNull();
    });
  });

  describe('hostile content', () => {
    it.each([
      ["/search/'; DROP TABLE users; --", "/search/'; DROP TABLE users; --"],
      ['/<script>alert(1)</script>', '/<script>alert(1)</script>'],
      ['/\u65e5\u672c\u8a9e/\u{1F680}', '/\u65e5\u672c\u8a9e/\u{1F680}'],
      ['/a"b\\c', '/a"b\\c'],
      ['/../../etc/passwd', '/../../etc/passwd'],
    ])('keeps path %p verbatim', (path, expected) => {
      const e = accepted(parseRecord(kongWith((r) => (r.request.uri = path)), ctx));
      expect(e.path).toBe(expected);
    });

    it('keeps a hostile user agent verbatim in JSON and in nginx (after nginx unescaping)', () => {
      const ua = `sqlmap/1.8 "'><img src=x onerror=alert(1)>' OR 1=1; --`;
      expect(accepted(parseRecord(kongWith((r) => (r.request.headers['user-agent'] = ua)), ctx)).userAgent).toBe(ua);
      const escaped = ua.replace(/"/g, '\\x22');
      expect(accepted(parseRecord(nginxLine('GET / HTTP/1.1', escaped), ctx)).userAgent).toBe(ua);
    });

    it('truncates an overlong user agent to the schema limit instead of dropping the event', () => {
      const e = accepted(parseRecord(kongWith((r) => (r.request.headers['user-agent'] = 'A'.repeat(5000))), ctx));
      expect(e.userAgent.length).toBe(2048);
    });
  });

  describe('secrets', () => {
    it('never stores a raw key: a query key is redacted and becomes a keyed-hash token id', () => {
      const raw = kongWith((r) => {
        delete r.consumer;
        delete r.authenticated_entity;
        r.request.uri = '/v1/orders/8812?limit=5&api_key=sk_live_51HqLyjWDarjtT1zdp7dc';
      });
      const e = accepted(parseRecord(raw, ctx));
      expect(e.query).toBe('limit=5&api_key=REDACTED');
      expect(e.tokenId).toBe(keyedHash(HASH_KEY, 'sk_live_51HqLyjWDarjtT1zdp7dc'));
      expect(JSON.stringify(e)).not.toContain('sk_live_51HqLyjWDarjtT1zdp7dc');
    });

    it.each([
      ['x-api-key', 'k-123456', 'k-123456'],
      ['apikey', 'k-654321', 'k-654321'],
      ['authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln'],
    ])('hashes a raw %s header of an anonymous caller', (header, value, credential) => {
      const raw = kongWith((r) => {
        delete r.consumer;
        delete r.authenticated_entity;
        r.request.headers[header] = value;
      });
      const e = accepted(parseRecord(raw, ctx));
      expect(e.tokenId).toBe(keyedHash(HASH_KEY, credential));
      expect(JSON.stringify(e)).not.toContain(credential);
    });

    it("prefers the gateway's consumer over a hash of the raw key", () => {
      const e = accepted(parseRecord(kongWith((r) => (r.request.headers['x-api-key'] = 'k-1')), ctx));
      expect(e.tokenId).toBe('acme-bot');
    });

    it('leaves the token id empty for an anonymous caller without credentials', () => {
      const raw = kongWith((r) => {
        delete r.consumer;
        delete r.authenticated_entity;
      });
      expect(accepted(parseRecord(raw, ctx)).tokenId).toBe('');
    });

    it('treats a "Bearer …" nginx token field as a raw credential', () => {
      const line = SAME_REQUEST.nginx.replace('"acme-bot"', '"Bearer tok_abcdef123456"');
      expect(accepted(parseRecord(line, ctx)).tokenId).toBe(keyedHash(HASH_KEY, 'tok_abcdef123456'));
    });
  });

  describe('event ids', () => {
    it('does not let a reused client request id merge distinct requests', () => {
      const a = accepted(parseRecord(SAME_REQUEST.envoy, ctx));
      const envoy = JSON.parse(SAME_REQUEST.envoy) as Record<string, unknown>;
      const b = accepted(parseRecord(JSON.stringify({ ...envoy, path: '/v1/orders/8813' }), ctx));
      expect(b.requestId).toBe(a.requestId);
      expect(b.id).not.toBe(a.id);
    });

    it('keeps the id a canonical record brings', () => {
      const raw = JSON.stringify({ ...(JSON.parse(SAME_REQUEST.vigil) as object), id: 'upstream-id-1' });
      expect(accepted(parseRecord(raw, ctx)).id).toBe('upstream-id-1');
    });
  });

  describe('geo', () => {
    it('reads country and ASN from gateway headers', () => {
      const e = accepted(parseRecord(kongWith((r) => Object.assign(r.request.headers, { 'cf-ipcountry': 'nl', 'x-asn': 'AS1136' })), ctx));
      expect([e.country, e.asn]).toEqual(['NL', 1136]);
    });
  });

  describe('headers of one record', () => {
    const HEADERS = {
      'cf-ipcountry': 'nl', 'x-asn': 'AS1136', 'api-version': 'v7', 'x-consumer-username': 'hdr-user', 'x-api-key': 'sk_live_leak', 'x-request-id': 'rid-leak',
      'x-forwarded-for': '198.51.100.9',
    };
    const plain = (e: { country: string; asn: number; apiVersion: string; tokenId: string; requestId: string; clientIp: string }) =>
      [e.country, e.asn, e.apiVersion, e.tokenId, e.requestId, e.clientIp];

    it('are not carried over to the next record (Kong, lower-case headers)', () => {
      const without = kongWith((r) => {
        delete r.consumer;
        delete r.authenticated_entity;
        r.request.uri = '/orders/8812';
        r.request.headers = { host: 'api.example.com', 'user-agent': 'curl/8.5.0' };
      });
      const alone = plain(accepted(parseRecord(without, ctx)));
      const withAll = kongWith((r) => {
        delete r.consumer;
        delete r.authenticated_entity;
        r.request.uri = '/orders/8812';
        Object.assign(r.request.headers, HEADERS);
      });
      const e = accepted(parseRecord(withAll, ctx));
      expect(plain(e)).toEqual(['NL', 1136, 'v7', 'hdr-user', e.requestId, '198.51.100.9']);
      expect(plain(accepted(parseRecord(without, ctx)))).toEqual(alone);
      expect([...alone.slice(0, 4), alone[5]]).toEqual(['', 0, '', '', '10.0.0.2']);
    });

    it('are not carried over to the next record (Traefik, request_ keys in any case)', () => {
      const base = {
        StartUTC: '2024-05-14T10:00:00Z', ClientHost: '203.0.113.7', RequestMethod: 'GET', RequestPath: '/orders/8812', DownstreamStatus: 200,
        Duration: 13_000_000, RequestHost: 'api.example.com',
      };
      const withAll = JSON.stringify({
        ...base, ...Object.fromEntries(Object.entries(HEADERS).map(([k, v], i) => [`request_${i % 2 ? k.toUpperCase() : k}`, v])),
      });
      const without = JSON.stringify({ ...base, 'request_User-Agent': 'curl/8.5.0' });
      const alone = plain(accepted(parseRecord(without, ctx)));
      expect(plain(accepted(parseRecord(withAll, ctx)))).toEqual(['NL', 1136, 'v7', 'hdr-user', 'rid-leak', '203.0.113.7']);
      expect(plain(accepted(parseRecord(without, ctx)))).toEqual(alone);
      expect(alone).toEqual(['', 0, '', '', '', '203.0.113.7']);
    });
  });

  describe.each(VARIANTS)('$name', ({ format, raw, expect: want }) => {
    it(`gives the expected ${'reason' in want ? 'rejection' : 'event fields'}`, () => {
      const r = parseRecord(raw, ctx);
      if ('reason' in want) {
        expect(r.ok === false && r.reason).toBe(want.reason);
        return;
      }
      const e = accepted(r);
      expect(e.format).toBe(format);
      expect(e).toMatchObject(want);
    });
  });

  it('hashes the raw keys of the anonymous variants (kong apikey, apisix bearer, tyk APIKey)', () => {
    const byName = (prefix: string) => accepted(parseRecord(VARIANTS.find((v) => v.name.startsWith(prefix))!.raw, ctx));
    expect(byName('kong: 401').tokenId).toBe(keyedHash(HASH_KEY, 'sk_live_abc123'));
    expect(byName('apisix: 429').tokenId).toBe(keyedHash(HASH_KEY, 'eyJhbGciOiJIUzI1NiJ9.e30.sig'));
    expect(byName('tyk: no detailed').tokenId).toBe(keyedHash(HASH_KEY, 'raw-key-1234567890'));
  });
});
