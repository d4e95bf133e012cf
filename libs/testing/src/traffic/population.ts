import { Prng } from './prng.js';

/**
 * Who calls the API and what they call: networks (country + ASN + address prefixes), client IPs, tokens bound
 * to their usual IPs, and an endpoint catalogue of a crypto-exchange style API with realistic status, latency
 * and size distributions. Everything is drawn from a seeded Prng, so a seed fixes the whole population.
 */

export type NetworkKind = 'residential' | 'mobile' | 'hosting' | 'vpn';

export interface Network {
  country: string;
  asn: number;
  org: string;
  kind: NetworkKind;
  /** First two octets of the /16s addresses are drawn from. */
  prefixes: readonly string[];
  /** Share of ordinary client traffic (0 for networks only attackers use). */
  weight: number;
}

/** Public address space of real operators, so countries and ASNs look like what a geo database would say. */
export const NETWORKS: readonly Network[] = [
  { country: 'US', asn: 7922, org: 'Comcast', kind: 'residential', prefixes: ['73.15', '98.207', '24.60'], weight: 14 },
  { country: 'US', asn: 701, org: 'Verizon', kind: 'residential', prefixes: ['71.105', '108.28'], weight: 6 },
  { country: 'US', asn: 21928, org: 'T-Mobile USA', kind: 'mobile', prefixes: ['172.56', '172.58'], weight: 6 },
  { country: 'DE', asn: 3320, org: 'Deutsche Telekom', kind: 'residential', prefixes: ['79.192', '91.0', '87.128'], weight: 8 },
  { country: 'GB', asn: 2856, org: 'BT', kind: 'residential', prefixes: ['86.128', '81.158'], weight: 6 },
  { country: 'FR', asn: 3215, org: 'Orange', kind: 'residential', prefixes: ['90.3', '86.246'], weight: 5 },
  { country: 'NL', asn: 1136, org: 'KPN', kind: 'residential', prefixes: ['77.163', '145.53'], weight: 3 },
  { country: 'ES', asn: 3352, org: 'Telefonica', kind: 'residential', prefixes: ['83.32', '88.27'], weight: 3 },
  { country: 'IT', asn: 3269, org: 'Telecom Italia', kind: 'residential', prefixes: ['79.10', '93.45'], weight: 3 },
  { country: 'PL', asn: 5617, org: 'Orange Polska', kind: 'residential', prefixes: ['83.24'], weight: 2 },
  { country: 'BR', asn: 28573, org: 'Claro', kind: 'residential', prefixes: ['177.92', '187.65'], weight: 4 },
  { country: 'IN', asn: 55836, org: 'Reliance Jio', kind: 'mobile', prefixes: ['49.36', '157.48'], weight: 5 },
  { country: 'JP', asn: 2516, org: 'KDDI', kind: 'residential', prefixes: ['106.130', '111.86'], weight: 4 },
  { country: 'KR', asn: 4766, org: 'Korea Telecom', kind: 'residential', prefixes: ['121.128', '175.192'], weight: 2 },
  { country: 'AU', asn: 1221, org: 'Telstra', kind: 'residential', prefixes: ['101.160', '120.17'], weight: 2 },
  { country: 'CA', asn: 812, org: 'Rogers', kind: 'residential', prefixes: ['99.224', '174.112'], weight: 3 },
  { country: 'SG', asn: 9506, org: 'Singtel', kind: 'residential', prefixes: ['116.86'], weight: 2 },
  { country: 'US', asn: 16509, org: 'Amazon AWS', kind: 'hosting', prefixes: ['3.80', '18.204', '52.14'], weight: 0 },
  { country: 'US', asn: 15169, org: 'Google Cloud', kind: 'hosting', prefixes: ['34.68', '35.192'], weight: 0 },
  { country: 'DE', asn: 24940, org: 'Hetzner', kind: 'hosting', prefixes: ['88.198', '95.216'], weight: 0 },
  { country: 'FR', asn: 16276, org: 'OVH', kind: 'hosting', prefixes: ['51.68', '54.36'], weight: 0 },
  // Networks that only attackers use in the generated traffic.
  { country: 'US', asn: 14061, org: 'DigitalOcean', kind: 'hosting', prefixes: ['159.89', '167.99'], weight: 0 },
  { country: 'NL', asn: 60068, org: 'Datacamp (VPN exits)', kind: 'vpn', prefixes: ['185.152'], weight: 0 },
  { country: 'RU', asn: 12389, org: 'Rostelecom', kind: 'residential', prefixes: ['95.24', '178.66'], weight: 0 },
  { country: 'CN', asn: 4134, org: 'China Telecom', kind: 'residential', prefixes: ['58.208', '116.1'], weight: 0 },
  { country: 'VN', asn: 45899, org: 'VNPT', kind: 'residential', prefixes: ['113.160'], weight: 0 },
  { country: 'ID', asn: 7713, org: 'Telkom Indonesia', kind: 'residential', prefixes: ['36.64'], weight: 0 },
  { country: 'TR', asn: 9121, org: 'Turk Telekom', kind: 'residential', prefixes: ['85.96'], weight: 0 },
  { country: 'NG', asn: 29465, org: 'MTN Nigeria', kind: 'mobile', prefixes: ['102.89'], weight: 0 },
];

export const ATTACKER_NETWORKS = NETWORKS.filter((n) => n.weight === 0 && (n.asn === 14061 || n.kind !== 'hosting'));
const CLIENT_NETWORKS = NETWORKS.filter((n) => n.weight > 0);
const HOSTING_NETWORKS = NETWORKS.filter((n) => n.kind === 'hosting' && n.asn !== 14061);

export interface ClientIp {
  ip: string;
  network: Network;
}

export type TokenKind = 'mobile' | 'web' | 'service';

export interface Token {
  /** Token id as the gateway logs it (consumer name / API key id). Never a secret. */
  id: string;
  kind: TokenKind;
  /** The IPs this token is normally used from. */
  usualIps: ClientIp[];
  /** CIDRs the token is allowed from (service tokens only; null when unrestricted). */
  allowlist: string[] | null;
  /** The caller's account id (for `/v1/accounts/:id/…`). */
  accountId: number;
  userAgent: string;
  /** Relative share of authenticated traffic. */
  activity: number;
}

export type Auth = 'anon' | 'token' | 'any';

export interface Endpoint {
  method: string;
  /** Template as documented (`/v1/orders/:id`); `:symbol` values are real words, so ingest keeps them verbatim. */
  template: string;
  auth: Auth;
  weight: number;
  /** Query string appended on a fraction of calls ('' for none). */
  query: string;
  /** Success status. */
  ok: number;
  /** Share of each failure status (the rest is `ok`). */
  failures: Readonly<Record<number, number>>;
  latencyMedianMs: number;
  bytesOutMedian: number;
  /** Request body size median (0 for none). */
  bytesInMedian: number;
}

const STD_ERRORS = { 400: 0.008, 404: 0.003, 429: 0.002, 500: 0.0008, 502: 0.0005, 503: 0.0004, 504: 0.0003 } as const;

function ep(method: string, template: string, auth: Auth, weight: number, latency: number, out: number, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    method, template, auth, weight, query: '', ok: method === 'POST' ? 201 : 200, failures: STD_ERRORS,
    latencyMedianMs: latency, bytesOutMedian: out, bytesInMedian: method === 'GET' || method === 'DELETE' ? 0 : 240, ...extra,
  };
}

/** The API: dozens of endpoints of a trading platform. Weights are relative call shares. */
export const ENDPOINTS: readonly Endpoint[] = [
  ep('GET', '/v1/markets', 'any', 4, 9, 18_400),
  ep('GET', '/v1/markets/:symbol/ticker', 'any', 14, 6, 420),
  ep('GET', '/v1/markets/:symbol/orderbook', 'any', 8, 12, 6_200, { query: 'depth=50' }),
  ep('GET', '/v1/markets/:symbol/trades', 'any', 6, 15, 9_800, { query: 'limit=100' }),
  ep('GET', '/v1/markets/:symbol/candles', 'any', 4, 34, 24_000, { query: 'interval=1m&limit=500' }),
  ep('GET', '/v1/instruments/:id', 'any', 2, 7, 1_100),
  ep('GET', '/v1/fees', 'any', 0.5, 5, 2_300),
  ep('GET', '/v1/status', 'anon', 1, 2, 90),
  ep('POST', '/v1/auth/login', 'anon', 2, 180, 640, { ok: 200, bytesInMedian: 170, failures: { 401: 0.04, 400: 0.004, 429: 0.002, 500: 0.0005 } }),
  ep('POST', '/v1/auth/refresh', 'token', 2, 24, 700, { ok: 200, bytesInMedian: 380 }),
  ep('POST', '/v1/auth/logout', 'token', 0.3, 12, 40, { ok: 204 }),
  ep('GET', '/v1/users/me', 'token', 3, 11, 1_300),
  ep('PATCH', '/v1/users/me/settings', 'token', 0.3, 28, 900, { ok: 200 }),
  ep('GET', '/v1/notifications', 'token', 2, 14, 3_100, { query: 'unread=true' }),
  ep('GET', '/v1/accounts/:id', 'token', 3, 13, 1_600),
  ep('GET', '/v1/accounts/:id/balances', 'token', 10, 22, 1_800),
  ep('GET', '/v1/accounts/:id/positions', 'token', 4, 26, 2_700),
  ep('GET', '/v1/accounts/:id/statements', 'token', 0.3, 140, 24_000, { query: 'month=2024-04' }),
  ep('GET', '/v1/accounts/:id/api-keys', 'token', 0.2, 16, 800),
  ep('GET', '/v1/orders', 'token', 8, 30, 7_400, { query: 'status=open&limit=50' }),
  ep('POST', '/v1/orders', 'token', 6, 45, 520, { bytesInMedian: 260, failures: { 400: 0.015, 422: 0.01, 429: 0.003, 500: 0.001, 502: 0.0006, 503: 0.0005 } }),
  ep('GET', '/v1/orders/:id', 'token', 7, 14, 860, { failures: { 404: 0.02, 429: 0.002, 500: 0.0008 } }),
  ep('DELETE', '/v1/orders/:id', 'token', 2, 31, 300, { failures: { 404: 0.05, 409: 0.01, 500: 0.001 } }),
  ep('GET', '/v1/orders/:id/fills', 'token', 1.5, 19, 1_900),
  ep('GET', '/v1/fills', 'token', 2, 27, 8_800, { query: 'limit=100' }),
  ep('GET', '/v1/wallets/:id/deposits', 'token', 0.6, 33, 4_200),
  ep('GET', '/v1/wallets/:id/addresses', 'token', 0.5, 18, 1_200),
  ep('POST', '/v1/wallets/:id/withdrawals', 'token', 0.3, 120, 610, { bytesInMedian: 310, failures: { 400: 0.03, 403: 0.02, 422: 0.02, 500: 0.001 } }),
  ep('GET', '/v2/portfolio/summary', 'token', 3, 48, 5_600),
  ep('GET', '/v2/markets/:symbol/depth', 'any', 2, 11, 7_900),
  ep('POST', '/v1/webhooks', 'token', 0.1, 40, 450),
  ep('POST', '/v1/accounts/:id/statements/export', 'token', 0.05, 900, 86_000, { ok: 200, bytesInMedian: 120 }),
];

export const SYMBOLS: readonly string[] = [
  'BTC-USD', 'ETH-USD', 'SOL-USD', 'BTC-EUR', 'ETH-EUR', 'XRP-USD', 'ADA-USD', 'DOGE-USD', 'LTC-USD', 'DOT-USD',
  'AVAX-USD', 'LINK-USD', 'MATIC-USD', 'ATOM-USD', 'UNI-USD', 'BCH-USD', 'ETH-BTC', 'SOL-BTC', 'XLM-USD', 'ALGO-USD',
  'NEAR-USD', 'FIL-USD', 'APT-USD', 'ARB-USD', 'OP-USD', 'AAVE-USD', 'MKR-USD', 'SHIB-USD', 'TRX-USD', 'ETC-USD',
];
/** Zipf-like popularity of the symbols (BTC-USD by far the most requested). */
export const SYMBOL_WEIGHTS: readonly number[] = SYMBOLS.map((_, i) => 1 / (i + 1) ** 1.1);

const MOBILE_UAS = [
  'AcmeTrade/5.12.1 (iPhone; iOS 17.4.1; Scale/3.00)', 'AcmeTrade/5.12.0 (iPhone; iOS 17.3; Scale/3.00)',
  'AcmeTrade/5.11.4 (Android 14; Pixel 8) okhttp/4.12.0', 'AcmeTrade/5.12.1 (Android 13; SM-S911B) okhttp/4.12.0',
  'AcmeTrade/5.10.2 (Android 12; Redmi Note 11) okhttp/4.11.0',
];
const WEB_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
];
const SERVICE_UAS = ['python-requests/2.31.0', 'Go-http-client/2.0', 'ccxt/4.2.94 (+https://github.com/ccxt/ccxt) Node.js/20.12.2', 'okhttp/4.12.0', 'axios/1.6.8', 'Apache-HttpClient/4.5.14 (Java/17.0.10)'];

export interface Population {
  ips: ClientIp[];
  /** IPs that call without a token (anonymous market-data readers, people logging in). */
  anonymousIps: ClientIp[];
  anonymousWeights: number[];
  tokens: Token[];
  tokenWeights: number[];
  /** Every IP in the population (normal clients), for attackers to avoid. */
  known: Set<string>;
}

/** A fresh address in one network, not yet in `taken`. */
export function addressIn(rng: Prng, network: Network, taken: Set<string>): string {
  for (;;) {
    const ip = `${rng.pick(network.prefixes)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    if (!taken.has(ip)) {
      taken.add(ip);
      return ip;
    }
  }
}

export function clientNetwork(rng: Prng, kind?: NetworkKind): Network {
  const pool = kind === undefined ? CLIENT_NETWORKS : kind === 'hosting' ? HOSTING_NETWORKS : CLIENT_NETWORKS.filter((n) => n.kind === kind);
  return rng.weighted(pool, pool.map((n) => n.weight || 1));
}

export function buildPopulation(seed: number, ipCount: number, tokenCount: number): Population {
  const rng = Prng.derive(seed, 'population');
  const known = new Set<string>();
  const ips: ClientIp[] = [];
  for (let i = 0; i < ipCount; i++) {
    const network = clientNetwork(rng);
    ips.push({ ip: addressIn(rng, network, known), network });
  }
  const mobileIps = ips.filter((c) => c.network.kind === 'mobile');
  const tokens: Token[] = [];
  const bound = new Set<string>();
  for (let i = 0; i < tokenCount; i++) {
    const r = rng.next();
    // The first token is always an allowlisted service, so every population has one for the allowlist attack.
    const kind: TokenKind = i === 0 || r >= 0.8 ? 'service' : r < 0.45 ? 'mobile' : 'web';
    let usualIps: ClientIp[];
    let allowlist: string[] | null = null;
    if (kind === 'service') {
      const network = clientNetwork(rng, 'hosting');
      usualIps = Array.from({ length: rng.int(1, 2) }, () => ({ ip: addressIn(rng, network, known), network }));
      if (rng.chance(0.6) || i === 0) allowlist = usualIps.map((c) => c.ip.split('.').slice(0, 3).join('.') + '.0/24');
    } else {
      const home = rng.pick(ips);
      usualIps = [home];
      if (kind === 'mobile' && mobileIps.length > 0) usualIps.push(rng.pick(mobileIps));
      else if (rng.chance(0.3)) usualIps.push(rng.pick(ips));
    }
    for (const c of usualIps) bound.add(c.ip);
    tokens.push({
      id: `tk_${rng.hex(12)}`,
      kind,
      usualIps,
      allowlist,
      accountId: 100_000 + i * 37 + rng.int(0, 36),
      userAgent: rng.pick(kind === 'mobile' ? MOBILE_UAS : kind === 'web' ? WEB_UAS : SERVICE_UAS),
      activity: rng.logNormal(1, 1.1) * (kind === 'service' ? 4 : 1),
    });
  }
  const anonymousIps = ips.filter((c) => !bound.has(c.ip));
  return {
    ips,
    anonymousIps,
    anonymousWeights: anonymousIps.map(() => rng.logNormal(1, 0.9)),
    tokens,
    tokenWeights: tokens.map((t) => t.activity),
    known,
  };
}

export const BROWSER_UAS = WEB_UAS;
export const ANON_UAS = [...WEB_UAS, ...MOBILE_UAS, 'curl/8.5.0', 'python-requests/2.31.0', 'PostmanRuntime/7.37.3'];
