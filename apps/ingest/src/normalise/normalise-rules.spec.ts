import { createHmac } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { resolveApiVersion, versionFromPath } from './api-version.js';
import { compileTrustedProxies, normaliseIp, parseIpv4, resolveClientIp, TrustedProxies } from './client-ip.js';
import { hasControlChars } from './control-chars.js';
import { normaliseAsn, normaliseCountry } from './geo.js';
import { scanQuery, setTarget, splitTarget, targetFromUrl } from './query.js';
import { gatewayRoute, templatePath } from './route-template.js';
import { epochToMs, parseClfTime, parseIsoTime } from './time.js';
import { normaliseTls } from './tls.js';
import { credentialFromAuthorization, keyedHash } from './token.js';

describe('templatePath', () => {
  it.each([
    ['/v1/orders/8812', '/v1/orders/:id'],
    ['/v1/orders/8812/items/3', '/v1/orders/:id/items/:id'],
    ['/v1/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/v1/users/:uuid'],
    ['/v1/users/3F2504E0-4F89-11D3-9A0C-0305E82C3301/avatar', '/v1/users/:uuid/avatar'],
    ['/files/5f2d0c8e9a1b4c3d2e1f0a9b8c7d6e5f', '/files/:hash'],
    ['/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/commits/:hash'],
    ['/objects/507f1f77bcf86cd799439011', '/objects/:hash'],
    ['/share/aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ9', '/share/:hash'],
    ['/t/eyJhbGciOiJIUzI1NiJ9_x1', '/t/:hash'],
    ['/customers/cus_NffrFeUfNV2Hib', '/customers/:id'],
    ['/orders/ord_8812abc', '/orders/:id'],
    // kept: versions, dates, short words, slugs without digits, hostile strings
    ['/v2beta/widgets', '/v2beta/widgets'],
    ['/2024-01-01/charges', '/2024-01-01/charges'],
    ['/api/v1/health', '/api/v1/health'],
    ['/oauth2/token', '/oauth2/token'],
    ['/blog/how-to-bake-bread', '/blog/how-to-bake-bread'],
    ['/admin/deadbeef', '/admin/deadbeef'],
    ["/search/'; DROP TABLE users; --", "/search/'; DROP TABLE users; --"],
    ['/<script>alert(1)</script>', '/<script>alert(1)</script>'],
    ['/', '/'],
    ['/v1/orders/', '/v1/orders/'],
    ['', ''],
  ])('%s → %s', (path, route) => {
    expect(templatePath(path)).toBe(route);
  });

  it('caps the template at the schema limit of 1024 characters', () => {
    expect(templatePath('/' + 'z'.repeat(5000)).length).toBe(1024);
  });
});

describe('gatewayRoute', () => {
  it.each([
    ['/v1/orders/{id}', '/v1/orders/:id'],
    ['GET /v1/orders/{orderId}', '/v1/orders/:orderId'],
    ['/{proxy+}', '/:proxy'],
    ['$default', ''],
    ['-', ''],
    ['orders@docker', 'orders@docker'],
  ])('%s → %s', (name, route) => {
    expect(gatewayRoute(name)).toBe(route);
  });
});

describe('resolveClientIp (X-Forwarded-For walk)', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '192.168.1.1', '2001:db8:ffff::/48']);
  it.each([
    ['client behind one trusted proxy', '203.0.113.7', '10.0.0.2', '203.0.113.7'],
    ['spoofed left-most entry is ignored', '6.6.6.6, 203.0.113.7', '10.0.0.2', '203.0.113.7'],
    ['two trusted hops are skipped', '203.0.113.7, 10.1.1.1', '192.168.1.1', '203.0.113.7'],
    ['untrusted peer is the client, XFF ignored', '6.6.6.6', '198.51.100.1', '198.51.100.1'],
    ['no XFF: the peer', '', '203.0.113.9', '203.0.113.9'],
    ['"-" XFF: the peer', '-', '10.0.0.2', '10.0.0.2'],
    ['all hops trusted: the left-most', '10.9.9.9, 10.0.0.3', '10.0.0.2', '10.9.9.9'],
    ['ports and brackets are stripped', '203.0.113.7:5555', '10.0.0.2:443', '203.0.113.7'],
    ['IPv6 client, trusted IPv6 proxy', '[2001:db8::1]:80', '2001:db8:ffff::5', '2001:db8::1'],
    ['IPv4-mapped IPv6 is unwrapped', '::ffff:203.0.113.7', '10.0.0.2', '203.0.113.7'],
    ['an IPv4-mapped peer is trusted by its IPv4 range', '203.0.113.7', '::ffff:10.0.0.2', '203.0.113.7'],
    ['an IPv4-mapped hop inside XFF is trusted by its IPv4 range', '203.0.113.7, ::ffff:10.1.1.1', '10.0.0.2', '203.0.113.7'],
    ['IPv6 is written in RFC 5952 form', '2001:0DB8:0000:0000:0000:0000:0000:0001', '10.0.0.2', '2001:db8::1'],
    ['empty entries are skipped', '203.0.113.7, , ', '10.0.0.2', '203.0.113.7'],
    ['peer absent (AWS, Tyk): walk XFF only', '203.0.113.7, 10.0.0.2', '', '203.0.113.7'],
  ])('%s', (_what, xff, peer, client) => {
    expect(resolveClientIp(xff, peer, trusted)).toEqual({ ok: true, ip: client });
  });

  it.each([
    ['garbage hop written by the trusted proxy', 'unknown', '10.0.0.2', 'unknown'],
    ['invalid peer', '', 'not-an-ip', 'not-an-ip'],
    ['no address at all', '', '', ''],
    ['octal-looking IPv4 is refused', '010.0.0.1', '10.0.0.2', '010.0.0.1'],
  ])('refuses %s', (_what, xff, peer, bad) => {
    expect(resolveClientIp(xff, peer, trusted)).toEqual({ ok: false, bad });
  });

  it('skips nothing with an empty trusted list', () => {
    expect(resolveClientIp('203.0.113.7', '10.0.0.2', new TrustedProxies([]))).toEqual({ ok: true, ip: '10.0.0.2' });
  });

  it('rejects an invalid trusted proxy entry when compiling', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/);
    expect(() => new TrustedProxies(['proxy.local'])).toThrow(/proxy\.local/);
  });

  it('compiles a list once and reuses it', () => {
    const list = ['10.0.0.0/8'];
    expect(compileTrustedProxies(list)).toBe(compileTrustedProxies(list));
  });

  it('agrees with ipaddr.js on IPv4 validity and value', () => {
    for (const s of ['0.0.0.0', '255.255.255.255', '1.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..3.4', ' 1.2.3.4', '1.2.3.4 ']) {
      const ours = parseIpv4(s);
      const theirs = ipaddr.IPv4.isValidFourPartDecimal(s) && !/(^|\.)0\d/.test(s);
      expect([s, ours >= 0]).toEqual([s, theirs]);
      if (theirs) expect(ours).toBe(ipaddr.IPv4.parse(s).toByteArray().reduce((a, b) => a * 256 + b, 0));
    }
  });

  it('normalises single addresses', () => {
    expect(normaliseIp('"203.0.113.7"')).toBe('203.0.113.7');
    expect(normaliseIp('2001:db8::zz')).toBeNull();
  });
});

describe('API version', () => {
  it.each([
    ['/v1/orders', '', '', 'v1'],
    ['/V2/orders', '', '', 'v2'],
    ['/v2beta/orders', '', '', 'v2beta'],
    ['/api/v1alpha2/things', '', '', 'v1alpha2'],
    ['/2024-01-01/charges', '', '', '2024-01-01'],
    ['/orders', '2023-10-01', '', '2023-10-01'],
    ['/orders', ' V3 ', '', 'v3'],
    ['/orders', '', '2024-02-15-preview', '2024-02-15-preview'],
    ['/v1/orders', 'v9', '', 'v1'],
    ['/a/b/c/v4/deep', '', '', ''],
    ['/orders/v2', '', '', 'v2'],
    ['/version/vx', '', '', ''],
    ['/orders', '', '', ''],
  ])('path %s, header %p, query %p → %p', (path, header, query, version) => {
    expect(resolveApiVersion(path, header, query)).toBe(version);
  });

  it('ignores version-looking segments beyond the third', () => {
    expect(versionFromPath('/x/y/z/v1')).toBe('');
  });
});

describe('normaliseTls', () => {
  it.each([
    ['TLSv1.3', 'TLSv1.3'],
    ['TLSv1.2', 'TLSv1.2'],
    ['tlsv1.2', 'TLSv1.2'],
    ['TLS 1.3', 'TLSv1.3'],
    ['TLS1.1', 'TLSv1.1'],
    ['TLSv1_2', 'TLSv1.2'],
    ['TLSv1', 'TLSv1.0'],
    ['1.3', 'TLSv1.3'],
    ['1.0', 'TLSv1.0'],
    ['SSLv3', 'SSLv3'],
    ['', ''],
    ['-', ''],
    ['h2', ''],
    ['TLSv9.9', ''],
  ])('%p → %p', (raw, tls) => {
    expect(normaliseTls(raw)).toBe(tls);
  });
});

describe('scanQuery (secret redaction)', () => {
  it.each([
    ['limit=5', 'limit=5', ''],
    ['api_key=sk_live_1&limit=5', 'api_key=REDACTED&limit=5', 'sk_live_1'],
    ['limit=5&token=abc', 'limit=5&token=REDACTED', 'abc'],
    ['access_token=ya29.a0&x=1', 'access_token=REDACTED&x=1', 'ya29.a0'],
    ['key=AIzaSyA&q=cats', 'key=REDACTED&q=cats', 'AIzaSyA'],
    ['API_KEY=Upper', 'API_KEY=REDACTED', 'Upper'],
    ['api%5Fkey=enc', 'api%5Fkey=REDACTED', 'enc'],
    ['apikey=a%2Bb', 'apikey=REDACTED', 'a+b'],
    ['password=hunter2&user=bob', 'password=REDACTED&user=bob', ''],
    ['token=&x=1', 'token=REDACTED&x=1', ''],
    ['monkey=1&tokens=2', 'monkey=1&tokens=2', ''],
    ['flag&key=v', 'flag&key=REDACTED', 'v'],
    ['', '', ''],
  ])('%p → %p (credential %p)', (query, redacted, credential) => {
    const r = scanQuery(query);
    expect(r.query).toBe(redacted);
    expect(r.credential).toBe(credential);
  });

  it('picks out api-version', () => {
    expect(scanQuery('api-version=2024-02-01&x=1').apiVersion).toBe('2024-02-01');
  });

  it.each([
    ['/a?b=1', ['/a', 'b=1']],
    ['/a', ['/a', '']],
    ['/a?', ['/a', '']],
    ['/a#frag?x', ['/a', '']],
    ['/a?b=1#frag', ['/a', 'b=1']],
  ] as const)('splitTarget(%p)', (target, parts) => {
    expect(splitTarget(target)).toEqual(parts);
  });

  it('setTarget writes what splitTarget returns', () => {
    const targets = ['/a?b=1', '/a', '/a?', '/a#frag?x', '/a?b=1#frag', '', '?', '#', '?#', '#?', '/a?b#c?d', '/a#b#c', '?q=1', '/x?a=1&b=2'];
    for (const target of targets) {
      const d = { path: 'stale', query: 'stale' };
      setTarget(d, target);
      expect([target, d.path, d.query]).toEqual([target, ...splitTarget(target)]);
    }
  });

  it.each([
    ['https://api.example.com:443/v1/x?y=1', '/v1/x?y=1'],
    ['http://h', '/'],
    ['http://h?q=1', '/?q=1'],
    ['/already/a/target', '/already/a/target'],
  ])('targetFromUrl(%p) → %p', (url, target) => {
    expect(targetFromUrl(url)).toBe(target);
  });
});

describe('token identity', () => {
  it('is kh_ and 16 hex of HMAC-SHA256 under the hash key, stable and key-dependent', () => {
    const a = keyedHash('key-one-0123456789', 'sk_live_secret');
    expect(a).toMatch(/^kh_[0-9a-f]{16}$/);
    expect(keyedHash('key-one-0123456789', 'sk_live_secret')).toBe(a);
    expect(keyedHash('key-two-0123456789', 'sk_live_secret')).not.toBe(a);
    expect(a).not.toContain('secret');
  });

  it('gives the same id on the first sight (not cached), the second (cached) and later ones (from the cache)', () => {
    const key = 'bench-hash-key-0123456789abcdef';
    for (const c of ['sk_once_' + 'z'.repeat(60), 'sk_live_repeated', 'Bearer-like.' + 'x'.repeat(300)]) {
      const expected = 'kh_' + createHmac('sha256', key).update(c).digest('hex').slice(0, 16);
      expect([keyedHash(key, c), keyedHash(key, c), keyedHash(key, c), keyedHash(key, c)]).toEqual([expected, expected, expected, expected]);
    }
  });

  it('derives the id from the hash key as UTF-8 text, so ids stay the same across releases', () => {
    // kh_ + the first 16 hex of HMAC-SHA256 keyed with the hash key's UTF-8 bytes (what earlier releases computed)
    const expected = 'kh_' + createHmac('sha256', 'clé-ünïcode-0123456789').update('sk_live_secret').digest('hex').slice(0, 16);
    expect(keyedHash('clé-ünïcode-0123456789', 'sk_live_secret')).toBe(expected);
  });

  it.each([
    ['ascii key', 'bench-hash-key-0123456789abcdef'],
    ['key of exactly 64 bytes', 'k'.repeat(64)],
    ['key longer than the block (createHmac path)', 'k'.repeat(65)],
    ['non-ASCII key (createHmac path)', 'clé-0123456789'],
    ['empty key', ''],
  ])('equals HMAC-SHA256 from createHmac for every credential (%s)', (_what, key) => {
    const credentials = ['sk_live_secret', '', 'é€😀 unicode', 'x'.repeat(200), 'tab\tand\u0000nul'];
    for (let i = 0; i < 200; i++) credentials.push(`sk_${i}_${(i * 7919).toString(36)}${i % 5 === 0 ? 'ü' : ''}`);
    for (const c of credentials) {
      const expected = 'kh_' + createHmac('sha256', Buffer.from(key, 'utf8')).update(c).digest('hex').slice(0, 16);
      expect(keyedHash(key, c)).toBe(expected);
    }
  });

  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer   abc', 'abc'],
    ['Token t1', 't1'],
    ['Basic dXNlcjpwYXNz', 'Basic dXNlcjpwYXNz'],
    ['REDACTED', ''],
    ['Bearer REDACTED', ''],
    ['', ''],
  ])('credential from Authorization %p → %p', (header, credential) => {
    expect(credentialFromAuthorization(header)).toBe(credential);
  });
});

describe('timestamps', () => {
  const t = Date.UTC(2024, 4, 14, 10, 0, 0);
  it.each([
    ['2024-05-14T10:00:00Z', t],
    ['2024-05-14T10:00:00.123Z', t + 123],
    ['2024-05-14T10:00:00.012500000Z', t + 12],
    ['2024-05-14T12:00:00+02:00', t],
    ['2024-05-14T05:00:00-0500', t],
    ['2024-05-14 10:00:00', t],
    ['2024-13-14T10:00:00Z', NaN],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2023-02-29T00:00:00Z', NaN],
    ['2024-04-31T00:00:00Z', NaN],
    ['1999-12-31T23:59:59Z', Date.UTC(1999, 11, 31, 23, 59, 59)],
    ['2100-03-01T00:00:00Z', Date.UTC(2100, 2, 1)],
    ['2024-05-14T10:00:00+25:00', NaN],
    ['yesterday at noon', NaN],
  ])('ISO %p', (s, ms) => {
    expect(parseIsoTime(s)).toBe(ms);
  });

  it('matches Date.UTC for every day from 1970 to 2100', () => {
    const mismatches: string[] = [];
    for (let ms = 0; ms < Date.UTC(2100, 0, 1); ms += 86_400_000 + 3_723_000) {
      const iso = new Date(ms).toISOString().slice(0, 19) + 'Z';
      if (parseIsoTime(iso) !== Math.floor(ms / 1000) * 1000) mismatches.push(iso);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['14/May/2024:10:00:00 +0000', t],
    ['14/May/2024:12:00:00 +0200', t],
    ['14/May/2024:10:00:00.250 +0000', t + 250],
    ['14/Foo/2024:10:00:00 +0000', NaN],
  ])('$time_local %p', (s, ms) => {
    expect(parseClfTime(s)).toBe(ms);
  });

  it.each([
    [t / 1000, t],
    [t / 1000 + 0.5, t + 500],
    [t, t],
    [t * 1000, t],
    [t * 1e6, t],
    ['1715680800000', t],
    [-1, NaN],
  ])('epoch %p', (v, ms) => {
    expect(epochToMs(v)).toBe(ms);
  });
});

describe('geo', () => {
  it.each([
    ['nl', 'NL'],
    ['US', 'US'],
    ['XX', ''],
    ['T1', 'T1'],
    ['USA', ''],
    ['', ''],
  ])('country %p → %p', (raw, c) => {
    expect(normaliseCountry(raw)).toBe(c);
  });
  it.each([
    ['AS13335', 13335],
    ['as3320', 3320],
    ['64512', 64512],
    [15169, 15169],
    ['AS', 0],
    ['-1', 0],
    ['12x', 0],
  ] as const)('asn %p → %p', (raw, asn) => {
    expect(normaliseAsn(raw)).toBe(asn);
  });
});

describe('hasControlChars', () => {
  it.each([
    ['/plain', false],
    ["/it's <fine> & \"quoted\" ünïcødé 🚀", false],
    ['/a\nb', true],
    ['/a\rb', true],
    ['/a\u0000', true],
    ['/a\u007f', true],
    ['/a\u0085', true],
    ['GET\t', true],
  ])('%p → %p', (s, bad) => {
    expect(hasControlChars(s)).toBe(bad);
  });
});
