import type { AccessEvent, LogFormat } from '@vigil/contracts';
import { STARTED_AT } from './same-request.js';

/**
 * More records per format: errors, plain HTTP, anonymous callers with raw keys, missing optional fields.
 * Each comes with the event fields it must produce (a subset) — or the rejection it must get.
 */
export interface Variant {
  name: string;
  format: LogFormat;
  raw: string;
  expect: Partial<AccessEvent> | { reason: string };
}

const T = STARTED_AT;

export const VARIANTS: Variant[] = [
  {
    name: 'kong: 401 over plain HTTP, anonymous caller with a raw apikey header and a key in the query',
    format: 'kong',
    raw: JSON.stringify({
      request: {
        method: 'POST',
        uri: '/v2/payments?api_key=sk_live_abc123&currency=EUR',
        url: 'http://api.example.com:80/v2/payments?api_key=sk_live_abc123&currency=EUR',
        size: 412,
        headers: { host: 'api.example.com', 'user-agent': 'curl/8.5.0', apikey: 'sk_live_abc123', 'cf-ipcountry': 'de', 'x-asn': 'AS3320' },
      },
      response: { status: 401, size: 96 },
      latencies: { kong: 1, proxy: 0, request: 1 },
      client_ip: '198.51.100.23',
      started_at: T + 1234,
      route: { id: 'r1', name: 'payments' },
    }),
    expect: {
      method: 'POST', status: 401, tls: '', clientIp: '198.51.100.23', query: 'api_key=REDACTED&currency=EUR',
      route: 'payments', apiVersion: 'v2', country: 'DE', asn: 3320, ts: T + 1234, latencyMs: 1, bytesIn: 412, bytesOut: 96,
    },
  },
  {
    name: 'kong: no latencies.request and no consumer (file-log from an early phase)',
    format: 'kong',
    raw: JSON.stringify({
      request: { method: 'GET', uri: '/health', size: 80, headers: { host: 'gw.internal' } },
      response: { status: 200, size: 2 },
      latencies: {},
      client_ip: '192.168.4.4',
      started_at: T,
    }),
    expect: { latencyMs: 0, tokenId: '', clientIp: '192.168.4.4', route: '/health', apiVersion: '' },
  },
  {
    name: 'apisix: 429 from limit-count, anonymous, Bearer token hashed, version from header',
    format: 'apisix',
    raw: JSON.stringify({
      request: {
        url: 'https://api.example.com:443/orders/5f2d0c8e9a1b4c3d2e1f0a9b8c7d6e5f/items',
        uri: '/orders/5f2d0c8e9a1b4c3d2e1f0a9b8c7d6e5f/items',
        method: 'GET',
        size: 300,
        headers: { host: 'api.example.com', 'x-forwarded-for': '192.0.2.1, 10.0.0.2', authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', 'x-api-version': '2023-10-01' },
      },
      response: { status: 429, size: 241 },
      latency: 0.9,
      start_time: T,
      client_ip: '192.168.10.1',
      route_id: '1',
    }),
    expect: { status: 429, clientIp: '192.0.2.1', route: '1', apiVersion: '2023-10-01', path: '/orders/5f2d0c8e9a1b4c3d2e1f0a9b8c7d6e5f/items' },
  },
  {
    name: 'envoy: upstream reset (503 UF) over plain HTTP with an IPv6 client',
    format: 'envoy',
    raw: JSON.stringify({
      start_time: '2024-05-14T10:00:01.250Z', method: 'PUT', path: '/v1/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301', protocol: 'HTTP/1.1',
      response_code: 503, response_flags: 'UF', bytes_received: 77, bytes_sent: 91, duration: 3001, x_forwarded_for: null,
      user_agent: 'okhttp/4.12.0', request_id: 'a0b1', authority: 'api.example.com', downstream_remote_address: '[2001:db8::7]:40000', route_name: null,
    }),
    expect: { status: 503, clientIp: '2001:db8::7', route: '/v1/users/:uuid', tls: '', ts: T + 1250, latencyMs: 3001, bytesIn: 77 },
  },
  {
    name: 'envoy: response_code 0 (client went away before a response) is not an HTTP status',
    format: 'envoy',
    raw: JSON.stringify({
      start_time: '2024-05-14T10:00:02.000Z', method: 'GET', path: '/v1/orders', response_code: 0, response_flags: 'DC', duration: 5,
      downstream_remote_address: '203.0.113.9:1234', request_id: 'x',
    }),
    expect: { reason: 'invalid_status' },
  },
  {
    name: 'nginx: stock combined line (no extras), HTTP/1.0, hostile user agent passes verbatim',
    format: 'nginx',
    raw: `198.51.100.7 - - [14/May/2024:12:00:00 +0200] "GET /search?q=%27%3B%20DROP%20TABLE%20users HTTP/1.0" 404 153 "-" "Mozilla/5.0 \\x22><script>alert(1)</script> '; DROP TABLE users; --"`,
    expect: {
      ts: T, status: 404, latencyMs: 0, clientIp: '198.51.100.7', query: 'q=%27%3B%20DROP%20TABLE%20users',
      userAgent: `Mozilla/5.0 "><script>alert(1)</script> '; DROP TABLE users; --`, tokenId: '',
    },
  },
  {
    name: 'nginx: escaped UTF-8 path, basic-auth user, ISO time',
    format: 'nginx',
    raw: '10.0.0.2 - alice [2024-05-14T10:00:00+00:00] "GET /caf\\xC3\\xA9/menu HTTP/2.0" 200 10 "https://example.com/" "Go-http-client/2.0" "203.0.113.50, 10.0.0.2" 0.002',
    expect: { path: '/café/menu', tokenId: 'alice', clientIp: '203.0.113.50', latencyMs: 2 },
  },
  {
    name: 'nginx: a TLS handshake sent to the plain-HTTP port (400 with a binary request line)',
    format: 'nginx',
    raw: '45.155.205.1 - - [14/May/2024:10:00:00 +0000] "\\x16\\x03\\x01\\x00\\xA5\\x01\\x00\\x00\\xA1\\x03\\x03" 400 157 "-" "-"',
    expect: { reason: 'malformed' },
  },
  {
    name: 'traefik: plain HTTP entrypoint, no TLS, no router, basic-auth user "-"',
    format: 'traefik',
    raw: JSON.stringify({
      ClientHost: '198.51.100.99', ClientUsername: '-', DownstreamContentSize: 0, DownstreamStatus: 301, Duration: 81234,
      RequestHost: 'example.com', RequestMethod: 'GET', RequestPath: '/', RequestScheme: 'http', StartUTC: '2024-05-14T10:00:00.5Z',
      entryPointName: 'web',
    }),
    expect: { status: 301, tls: '', tokenId: '', route: '/', latencyMs: 0.081234, ts: T + 500, clientIp: '198.51.100.99' },
  },
  {
    name: 'aws: HTTP API record with routeKey, seconds-resolution requestTime only, stage in path on execute-api',
    format: 'aws',
    raw: JSON.stringify({
      requestId: 'Jc2jvjD5IAMEbzQ=', ip: '192.0.2.44', requestTime: '14/May/2024:10:00:00 +0000', routeKey: 'GET /v1/orders/{orderId}',
      path: '/prod/v1/orders/8812', stage: 'prod', status: '500', responseLength: '-', responseLatency: '29001', domainName: 'a1b2c3.execute-api.eu-west-1.amazonaws.com',
    }),
    expect: { method: 'GET', path: '/v1/orders/8812', route: '/v1/orders/:orderId', status: 500, bytesOut: 0, latencyMs: 29001, tokenId: '' },
  },
  {
    name: 'aws: no requestTimeEpoch and no requestTime',
    format: 'aws',
    raw: JSON.stringify({ requestId: 'r-1', ip: '192.0.2.44', httpMethod: 'GET', resourcePath: '/v1/x', status: '200' }),
    expect: { reason: 'missing_timestamp' },
  },
  {
    name: 'tyk: no detailed recording (no RawRequest), raw APIKey only, GeoIP on',
    format: 'tyk',
    raw: JSON.stringify({
      Method: 'DELETE', Host: 'api.example.com', Path: '/v1/orders/8812', RawPath: '/v1/orders/8812', ContentLength: 0, UserAgent: 'axios/1.6.8',
      ResponseCode: 403, APIKey: 'raw-key-1234567890', TimeStamp: '2024-05-14T10:00:00Z', APIVersion: 'v1', APIID: 'a1', OrgID: 'o1',
      RequestTime: 4, IPAddress: '203.0.113.77', Geo: { Country: { ISOCode: 'US' } }, Alias: '',
    }),
    expect: { status: 403, clientIp: '203.0.113.77', country: 'US', apiVersion: 'v1', latencyMs: 4 },
  },
  {
    name: 'vigil: minimal partial record gets defaults and derived fields',
    format: 'vigil',
    raw: JSON.stringify({ ts: '2024-05-14T10:00:00Z', clientIp: '203.0.113.7', method: 'GET', path: '/v3/things/123?page=2', status: 200 }),
    expect: { path: '/v3/things/123', query: 'page=2', route: '/v3/things/:id', apiVersion: 'v3', latencyMs: 0, bytesIn: 0, bytesOut: 0, tokenId: '', tls: '', host: '' },
  },
  {
    name: 'vigil: record without a status',
    format: 'vigil',
    raw: JSON.stringify({ v: 1, ts: T, clientIp: '203.0.113.7', method: 'GET', path: '/' }),
    expect: { reason: 'invalid_status' },
  },
];
