import type { AccessEvent } from '@vigil/contracts';
import { Prng, WeightedSampler } from './prng.js';
import {
  ANON_UAS, ENDPOINTS, SYMBOLS, SYMBOL_WEIGHTS, addressIn, type ClientIp, type Endpoint, type Network, type Population, type Token,
} from './population.js';
import { routeOf, versionOf } from './render.js';
import type { ResolvedTrafficOptions } from './types.js';

/** Share of normal requests made with a token (the rest are anonymous market-data reads and logins). */
export const AUTHENTICATED_SHARE = 0.72;

/** Fields an attack (or the normal model) chooses; the rest get realistic defaults. */
export interface RequestSpec {
  ts: number;
  clientIp: string;
  method: string;
  path: string;
  status: number;
  query?: string;
  latencyMs?: number;
  bytesIn?: number;
  bytesOut?: number;
  userAgent?: string;
  tls?: string;
  tokenId?: string;
}

/**
 * Shared request building: geo lookups for every address the run uses, path instantiation for endpoint
 * templates, and the status / latency / size draws of normal traffic.
 */
export class TrafficModel {
  readonly geo = new Map<string, Network>();
  /** Addresses in use in this run (normal clients plus attackers drawn so far); a copy, so every run draws the same attackers. */
  private readonly taken: Set<string>;
  private readonly anonEndpoints: Endpoint[];
  private readonly anonWeights: number[];
  private readonly tokenEndpoints: Endpoint[];
  private readonly tokenWeights: number[];
  private readonly pickToken: WeightedSampler<Token>;
  private readonly pickAnonIp: WeightedSampler<ClientIp>;
  private readonly pickAnonEndpoint: WeightedSampler<Endpoint>;
  private readonly pickTokenEndpoint: WeightedSampler<Endpoint>;
  private readonly pickSymbol = new WeightedSampler(SYMBOLS, SYMBOL_WEIGHTS);

  constructor(
    readonly opts: ResolvedTrafficOptions,
    readonly population: Population,
  ) {
    this.taken = new Set(population.known);
    for (const c of population.ips) this.geo.set(c.ip, c.network);
    for (const t of population.tokens) for (const c of t.usualIps) this.geo.set(c.ip, c.network);
    this.anonEndpoints = ENDPOINTS.filter((e) => e.auth !== 'token');
    this.anonWeights = this.anonEndpoints.map((e) => e.weight);
    this.tokenEndpoints = ENDPOINTS.filter((e) => e.auth !== 'anon');
    this.tokenWeights = this.tokenEndpoints.map((e) => e.weight);
    this.pickToken = new WeightedSampler(population.tokens, population.tokenWeights);
    this.pickAnonIp = new WeightedSampler(population.anonymousIps, population.anonymousWeights);
    this.pickAnonEndpoint = new WeightedSampler(this.anonEndpoints, this.anonWeights);
    this.pickTokenEndpoint = new WeightedSampler(this.tokenEndpoints, this.tokenWeights);
  }

  /** A new address in `network` that no normal client uses. */
  newIp(rng: Prng, network: Network): ClientIp {
    const ip = addressIn(rng, network, this.taken);
    this.geo.set(ip, network);
    return { ip, network };
  }

  /** Normal requests per second on one endpoint at rate factor 1 (i.e. at the weekly average). */
  endpointRate(method: string, template: string): number {
    const anon = this.anonEndpoints.find((e) => e.method === method && e.template === template);
    const tok = this.tokenEndpoints.find((e) => e.method === method && e.template === template);
    const sum = (ws: number[]) => ws.reduce((a, b) => a + b, 0);
    let share = 0;
    if (anon) share += (1 - AUTHENTICATED_SHARE) * (anon.weight / sum(this.anonWeights));
    if (tok) share += AUTHENTICATED_SHARE * (tok.weight / sum(this.tokenWeights));
    return this.opts.rps * share;
  }

  /** A concrete path for a template: `:symbol` from the Zipf symbol list, `:id` per resource kind. */
  instantiate(rng: Prng, template: string, token: Token | null): string {
    return template.replace(/:(\w+)/g, (_m, name: string) => {
      if (name === 'symbol') return this.pickSymbol.sample(rng);
      if (template.startsWith('/v1/accounts/') || template.startsWith('/v1/wallets/')) return String(token?.accountId ?? rng.int(100_000, 199_999));
      if (template.startsWith('/v1/instruments/')) return String(rng.int(1, 4_000));
      return String(rng.int(30_000_000, 39_999_999));
    });
  }

  /** Status by the endpoint's failure shares. */
  status(rng: Prng, e: Endpoint): number {
    let r = rng.next();
    for (const [code, share] of Object.entries(e.failures)) {
      r -= share;
      if (r < 0) return Number(code);
    }
    if (e.method === 'GET' && e.ok === 200 && rng.chance(0.02)) return 304;
    return e.ok;
  }

  /** A normal request at `ts`. */
  normal(rng: Prng, ts: number): RequestSpec {
    let token: Token | null = null;
    let client: ClientIp;
    let endpoint: Endpoint;
    let ua: string;
    if (rng.chance(AUTHENTICATED_SHARE)) {
      token = this.pickToken.sample(rng);
      client = token.usualIps.length === 1 || rng.chance(0.7) ? token.usualIps[0]! : rng.pick(token.usualIps);
      endpoint = this.pickTokenEndpoint.sample(rng);
      ua = token.userAgent;
    } else {
      client = this.pickAnonIp.sample(rng);
      endpoint = this.pickAnonEndpoint.sample(rng);
      ua = ANON_UAS[(client.ip.length * 7 + client.ip.charCodeAt(client.ip.length - 1)) % ANON_UAS.length]!;
    }
    const status = this.status(rng, endpoint);
    return this.fill(rng, endpoint, {
      ts,
      clientIp: client.ip,
      method: endpoint.method,
      path: this.instantiate(rng, endpoint.template, token),
      query: endpoint.query !== '' && rng.chance(0.8) ? endpoint.query : '',
      status,
      userAgent: ua,
      tokenId: token?.id ?? '',
    });
  }

  /** Latency and sizes drawn from the endpoint's distributions, unless the spec fixes them. */
  fill(rng: Prng, endpoint: Endpoint | null, spec: RequestSpec): RequestSpec {
    const lat = endpoint?.latencyMedianMs ?? 20;
    const ok = spec.status < 400;
    const errorScale = spec.status >= 500 ? (spec.status === 504 ? 150 : 4) : ok ? 1 : 0.4;
    return {
      ...spec,
      latencyMs: spec.latencyMs ?? Math.max(1, Math.round(rng.logNormal(lat * errorScale, 0.55))),
      bytesOut: spec.bytesOut ?? (spec.status === 204 || spec.status === 304 ? 0 : ok ? Math.round(rng.logNormal(endpoint?.bytesOutMedian ?? 600, 0.35)) : rng.int(60, 240)),
      bytesIn: spec.bytesIn ?? (endpoint && endpoint.bytesInMedian > 0 ? Math.round(rng.logNormal(endpoint.bytesInMedian, 0.3)) : 0),
      tls: spec.tls ?? (rng.chance(0.96) ? 'TLSv1.3' : 'TLSv1.2'),
    };
  }

  /** The AccessEvent for a spec (id and request id are set by the generator when it emits). */
  toEvent(spec: RequestSpec): AccessEvent {
    const network = this.geo.get(spec.clientIp);
    return {
      v: 1,
      id: '',
      tenant: this.opts.tenant,
      ts: spec.ts,
      format: this.opts.format,
      clientIp: spec.clientIp,
      method: spec.method,
      path: spec.path,
      query: spec.query ?? '',
      route: routeOf(spec.path),
      status: spec.status,
      latencyMs: spec.latencyMs ?? 20,
      bytesIn: spec.bytesIn ?? 0,
      bytesOut: spec.bytesOut ?? 0,
      userAgent: spec.userAgent ?? '',
      apiVersion: versionOf(spec.path),
      tls: spec.tls ?? 'TLSv1.3',
      tokenId: spec.tokenId ?? '',
      country: network?.country ?? '',
      asn: network?.asn ?? 0,
      requestId: '',
      host: this.opts.host,
    };
  }
}

export function findEndpoint(method: string, template: string): Endpoint {
  const e = ENDPOINTS.find((x) => x.method === method && x.template === template);
  if (!e) throw new Error(`no endpoint ${method} ${template}`);
  return e;
}
