import type { AccessEvent, LogFormat } from '@vigil/contracts';

/**
 * ONE request, as each supported gateway would log it:
 *
 *   GET https://api.example.com/v1/orders/8812?limit=5   HTTP/1.1 over TLSv1.3
 *   from client 203.0.113.7, through the trusted proxy 10.0.0.2 (X-Forwarded-For: 203.0.113.7)
 *   User-Agent python-requests/2.31, caller authenticated as consumer `acme-bot`
 *   -> 200, 512 response body bytes, 12.5 ms total, started 2024-05-14T10:00:00Z
 *
 * Records follow each gateway's documented shape (field names, units, value encodings).
 */
export const TENANT = 'acme';
export const STARTED_AT = Date.UTC(2024, 4, 14, 10, 0, 0);
/** Ingestion happens a few minutes later. */
export const NOW = STARTED_AT + 5 * 60_000;
export const TRUSTED_PROXIES = ['10.0.0.2', '192.168.0.0/16'];
export const HASH_KEY = 'fixture-hash-key-0123456789abcdef';

const kong = {
  request: {
    id: '4f2b6c7a1f0e4d6a9b3c2d1e0f9a8b7c',
    method: 'GET',
    uri: '/v1/orders/8812?limit=5',
    url: 'https://api.example.com:443/v1/orders/8812?limit=5',
    size: 231,
    querystring: { limit: '5' },
    headers: {
      host: 'api.example.com',
      'user-agent': 'python-requests/2.31',
      accept: '*/*',
      'accept-encoding': 'gzip, deflate',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      authorization: 'REDACTED',
    },
    tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', client_verify: 'NONE' },
  },
  upstream_uri: '/v1/orders/8812?limit=5',
  upstream_status: '200',
  response: { status: 200, size: 512, headers: { 'content-type': 'application/json', 'content-length': '312', 'x-kong-proxy-latency': '2', 'x-kong-upstream-latency': '11' } },
  tries: [{ balancer_start: 1715680800001, balancer_latency: 0, ip: '10.0.1.5', port: 8080 }],
  latencies: { kong: 2, proxy: 11, request: 13, receive: 0 },
  authenticated_entity: { id: 'b7a1c2d3-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
  consumer: { id: '8d8d3a43-9b2e-4f0c-a2f6-3c1b2a9d0e7f', username: 'acme-bot', custom_id: null, created_at: 1700000000 },
  route: { id: 'c1b7a2f0-0d3e-4b5a-9c8d-7e6f5a4b3c2d', name: 'orders', paths: ['/v1/orders'], protocols: ['https'], strip_path: false },
  service: { id: 'a3f1e2d4-5c6b-4a7e-8f9d-0b1c2d3e4f5a', name: 'orders-svc', host: 'orders.internal', port: 8080, protocol: 'http' },
  workspace: '0dc6f45b-8f8d-40d2-a504-473544ee190b',
  workspace_name: 'default',
  client_ip: '10.0.0.2',
  started_at: STARTED_AT,
  source: 'upstream',
};

const apisix = {
  request: {
    url: 'https://api.example.com:443/v1/orders/8812?limit=5',
    uri: '/v1/orders/8812?limit=5',
    method: 'GET',
    size: 231,
    querystring: { limit: '5' },
    headers: {
      host: 'api.example.com',
      'user-agent': 'python-requests/2.31',
      accept: '*/*',
      'x-forwarded-for': '203.0.113.7',
      'x-request-id': '0f8e1b4c-9a77-4c1e-9d55-3c6f0b7a2e11',
    },
  },
  response: { status: 200, size: 512, headers: { 'content-type': 'application/json', server: 'APISIX/3.9.0' } },
  server: { hostname: 'apisix-6d9f7c5b8-xk2lp', version: '3.9.0' },
  upstream: '10.0.1.5:8080',
  upstream_latency: 11,
  apisix_latency: 1.5,
  latency: 12.5,
  start_time: STARTED_AT,
  client_ip: '10.0.0.2',
  route_id: 'orders',
  service_id: 'orders-svc',
  consumer: { username: 'acme-bot' },
};

const envoy = {
  start_time: '2024-05-14T10:00:00.000Z',
  method: 'GET',
  path: '/v1/orders/8812?limit=5',
  protocol: 'HTTP/1.1',
  response_code: 200,
  response_flags: '-',
  response_code_details: 'via_upstream',
  connection_termination_details: null,
  upstream_transport_failure_reason: null,
  bytes_received: 0,
  bytes_sent: 512,
  duration: 13,
  upstream_service_time: '11',
  x_forwarded_for: '203.0.113.7',
  user_agent: 'python-requests/2.31',
  request_id: '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
  authority: 'api.example.com',
  upstream_host: '10.0.1.5:8080',
  upstream_cluster: 'outbound|8080||orders.shop.svc.cluster.local',
  upstream_local_address: '10.0.1.9:41234',
  downstream_local_address: '10.0.1.9:8443',
  downstream_remote_address: '10.0.0.2:51234',
  requested_server_name: 'api.example.com',
  route_name: 'orders',
  // Additions to Istio's default format (see formats/envoy.ts):
  downstream_tls_version: 'TLSv1.3',
  x_consumer_username: 'acme-bot',
};

const nginx =
  '10.0.0.2 - - [14/May/2024:10:00:00 +0000] "GET /v1/orders/8812?limit=5 HTTP/1.1" 200 512 "-" "python-requests/2.31" "203.0.113.7" 0.013 "acme-bot"';

const traefik = {
  ClientAddr: '10.0.0.2:51234',
  ClientHost: '10.0.0.2',
  ClientPort: '51234',
  ClientUsername: 'acme-bot',
  DownstreamContentSize: 512,
  DownstreamStatus: 200,
  Duration: 12_500_000,
  OriginContentSize: 512,
  OriginDuration: 11_000_000,
  OriginStatus: 200,
  Overhead: 1_500_000,
  RequestAddr: 'api.example.com',
  RequestContentSize: 0,
  RequestCount: 4711,
  RequestHost: 'api.example.com',
  RequestMethod: 'GET',
  RequestPath: '/v1/orders/8812?limit=5',
  RequestPort: '-',
  RequestProtocol: 'HTTP/1.1',
  RequestScheme: 'https',
  RetryAttempts: 0,
  RouterName: 'orders@docker',
  ServiceAddr: '10.0.1.5:8080',
  ServiceName: 'orders@docker',
  ServiceURL: 'http://10.0.1.5:8080',
  StartLocal: '2024-05-14T10:00:00.000000000Z',
  StartUTC: '2024-05-14T10:00:00.000000000Z',
  TLSCipher: 'TLS_AES_128_GCM_SHA256',
  TLSVersion: '1.3',
  entryPointName: 'websecure',
  level: 'info',
  msg: '',
  'request_User-Agent': 'python-requests/2.31',
  'request_X-Forwarded-For': '203.0.113.7',
  time: '2024-05-14T10:00:00Z',
};

const aws = {
  requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  extendedRequestId: 'XyZ1aF3kIAMEcQw=',
  ip: '203.0.113.7',
  caller: '-',
  user: '-',
  requestTime: '14/May/2024:10:00:00 +0000',
  requestTimeEpoch: STARTED_AT,
  httpMethod: 'GET',
  resourcePath: '/v1/orders/{id}',
  path: '/v1/orders/8812',
  status: '200',
  protocol: 'HTTP/1.1',
  responseLength: '512',
  responseLatency: '13',
  integrationLatency: '11',
  apiKeyId: 'k8fy7a2c3p',
  principalId: 'acme-bot',
  userAgent: 'python-requests/2.31',
  domainName: 'api.example.com',
  stage: 'prod',
};

const tykRawRequest = [
  'GET /v1/orders/8812?limit=5 HTTP/1.1',
  'Host: api.example.com',
  'User-Agent: python-requests/2.31',
  'Accept: */*',
  'X-Forwarded-For: 203.0.113.7',
  'X-Api-Key: sk_live_9f8e7d6c5b4a39281706',
  '',
  '',
].join('\r\n');

const tyk = {
  Method: 'GET',
  Host: 'api.example.com',
  Path: '/v1/orders/8812',
  RawPath: '/v1/orders/8812',
  ContentLength: 0,
  UserAgent: 'python-requests/2.31',
  Day: 14,
  Month: 5,
  Year: 2024,
  Hour: 10,
  ResponseCode: 200,
  APIKey: '5f1c9e7a2b3d4c6e8f0a1b2c3d4e5f60',
  TimeStamp: '2024-05-14T10:00:00Z',
  APIVersion: 'Non Versioned',
  APIName: 'Orders API',
  APIID: '41433797848f41a558c1573d3e55a410',
  OrgID: '5e9d9544a1dcd60001d0ed20',
  OauthID: '',
  RequestTime: 13,
  Latency: { total: 13, upstream: 11 },
  RawRequest: Buffer.from(tykRawRequest, 'latin1').toString('base64'),
  RawResponse: '',
  IPAddress: '203.0.113.7',
  Geo: { Country: { ISOCode: '' }, City: { Names: null }, Location: { Latitude: 0, Longitude: 0, TimeZone: '' } },
  Network: { OpenConnections: 0, ClosedConnection: 0, BytesIn: 0, BytesOut: 0 },
  Tags: ['key-acme-bot', 'org-5e9d9544a1dcd60001d0ed20'],
  Alias: 'acme-bot',
  TrackPath: false,
  ExpireAt: '2024-05-21T10:00:00Z',
};

const vigil = {
  v: 1,
  ts: STARTED_AT,
  clientIp: '203.0.113.7',
  method: 'GET',
  path: '/v1/orders/8812',
  query: 'limit=5',
  status: 200,
  latencyMs: 12.5,
  bytesOut: 512,
  userAgent: 'python-requests/2.31',
  tls: 'TLSv1.3',
  tokenId: 'acme-bot',
  requestId: 'vg-01HXZ3K4M5N6P7Q8R9S0T1V2W3',
  host: 'api.example.com',
};

/** The raw records as they arrive (JSON text for the JSON formats, a text line for nginx). */
export const SAME_REQUEST: Record<LogFormat, string> = {
  kong: JSON.stringify(kong),
  apisix: JSON.stringify(apisix),
  envoy: JSON.stringify(envoy),
  nginx,
  traefik: JSON.stringify(traefik),
  aws: JSON.stringify(aws),
  tyk: JSON.stringify(tyk),
  vigil: JSON.stringify(vigil),
};

/** What every format should normalise to, apart from the differences listed in CANNOT_CARRY. */
export const EXPECTED: Omit<AccessEvent, 'id' | 'format' | 'requestId'> = {
  v: 1,
  tenant: TENANT,
  ts: STARTED_AT,
  clientIp: '203.0.113.7',
  method: 'GET',
  path: '/v1/orders/8812',
  query: 'limit=5',
  route: '/v1/orders/:id',
  status: 200,
  latencyMs: 12.5,
  bytesIn: 0,
  bytesOut: 512,
  userAgent: 'python-requests/2.31',
  apiVersion: 'v1',
  tls: 'TLSv1.3',
  tokenId: 'acme-bot',
  country: '',
  asn: 0,
  host: 'api.example.com',
};

/**
 * Per format: what it cannot carry, and the value that results instead. Every entry is a limit of the
 * gateway's log format, not of the normaliser.
 */
export const CANNOT_CARRY: Record<LogFormat, { requestId: string; differs: Partial<AccessEvent>; why: string }> = {
  kong: {
    requestId: kong.request.id,
    differs: { latencyMs: 13, bytesIn: 231 },
    why: 'latencies are whole ms; request.size counts the request line and headers',
  },
  apisix: {
    requestId: apisix.request.headers['x-request-id'],
    differs: { bytesIn: 231, tls: '' },
    why: 'request.size counts the request line and headers; the full log has no TLS version',
  },
  envoy: { requestId: envoy.request_id, differs: { latencyMs: 13 }, why: '%DURATION% is whole ms' },
  nginx: {
    requestId: '',
    differs: { latencyMs: 13, tls: '', host: '' },
    why: '$request_time has ms resolution; combined has no TLS version, host or request id',
  },
  traefik: { requestId: '', differs: {}, why: 'Traefik logs no request id' },
  aws: {
    requestId: aws.requestId,
    differs: { latencyMs: 13, query: '', tls: '' },
    why: 'responseLatency is whole ms; the access log has no query string or TLS version',
  },
  tyk: {
    requestId: '',
    differs: { latencyMs: 13, bytesOut: 0, tls: '' },
    why: 'RequestTime is whole ms; Tyk records no response size, TLS version or request id',
  },
  vigil: { requestId: vigil.requestId, differs: {}, why: 'the canonical shape carries everything' },
};

/** The gateway route names used by default (routeSource 'gateway'). */
export const GATEWAY_ROUTES: Record<LogFormat, string> = {
  kong: 'orders',
  apisix: 'orders',
  envoy: 'orders',
  nginx: '/v1/orders/:id',
  traefik: 'orders@docker',
  aws: '/v1/orders/:id',
  tyk: '/v1/orders/:id',
  vigil: '/v1/orders/:id',
};
