import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AttemptResult } from './delivery-outcome.js';

/** One POST to send: the target already passed the SSRF guard, `addresses` are the ones it checked. */
export interface OutboundPost {
  url: URL;
  /** The connection goes to one of these (the guard's checked addresses), never to a fresh DNS answer. */
  addresses: readonly string[];
  headers: OutgoingHttpHeaders;
  body: string;
  timeoutMs: number;
}

export interface HttpSenderOptions {
  /** Sockets per origin (host:port). Default 256. */
  maxSocketsPerOrigin?: number;
  /** An idle kept-alive socket is closed after this long (ms). Default 4 s, under the common 5 s server keep-alive. */
  idleTimeoutMs?: number;
}

/** At most this much of a response body is read (and dropped); a receiver has nothing to tell us in it. */
const MAX_DRAIN_BYTES = 64 * 1024;

/**
 * POSTs webhook bodies over node:http(s) with keep-alive agents: sockets are reused per origin instead of one TCP
 * (and TLS) handshake per delivery, and the per-request overhead is a fraction of global `fetch`'s (WHATWG streams,
 * AbortSignal, Headers objects; measured in scripts/bench/webhooks.ts).
 * - The connection is pinned to the addresses the SSRF guard checked (a `lookup` that answers with them), so a DNS
 *   answer that changed between the check and the connect (rebinding) is never used. TLS still verifies the
 *   certificate against the URL's host name (SNI and `servername` come from the URL).
 * - Redirects are not followed (node:http never does): a 3xx is returned as is.
 * - `timeoutMs` bounds the whole attempt (connect, request, response head and draining the body).
 * - A kept-alive socket the receiver closed just before we reused it fails with ECONNRESET/EPIPE before any
 *   response: that request is sent once more on a fresh socket, as Node's documentation recommends.
 */
export class HttpSender {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(o: HttpSenderOptions = {}) {
    const agentOptions = {
      keepAlive: true,
      maxSockets: o.maxSocketsPerOrigin ?? 256,
      maxFreeSockets: o.maxSocketsPerOrigin ?? 256,
      timeout: o.idleTimeoutMs ?? 4_000,
      scheduling: 'lifo' as const,
    };
    this.http = new HttpAgent(agentOptions);
    this.https = new HttpsAgent(agentOptions);
  }

  async post(p: OutboundPost): Promise<AttemptResult> {
    const deadline = Date.now() + p.timeoutMs;
    const first = await this.once(p, p.timeoutMs);
    if (first.kind === 'stale-socket') {
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout', timeoutMs: p.timeoutMs };
      const second = await this.once(p, left);
      return second.kind === 'stale-socket' ? { kind: 'network', message: second.message } : second.kind === 'timeout' ? { kind: 'timeout', timeoutMs: p.timeoutMs } : second;
    }
    return first;
  }

  /** Closes the idle sockets (in-flight requests finish). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private once(p: OutboundPost, timeoutMs: number): Promise<AttemptResult | { kind: 'stale-socket'; message: string }> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: AttemptResult | { kind: 'stale-socket'; message: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const https = p.url.protocol === 'https:';
      const body = Buffer.from(p.body, 'utf8');
      const req = (https ? httpsRequest : httpRequest)({
        agent: https ? this.https : this.http,
        protocol: p.url.protocol,
        hostname: p.url.hostname.startsWith('[') ? p.url.hostname.slice(1, -1) : p.url.hostname,
        port: p.url.port || (https ? 443 : 80),
        path: `${p.url.pathname}${p.url.search}`,
        method: 'POST',
        headers: { ...p.headers, 'content-length': body.length },
        lookup: pinnedLookup(p.addresses),
      });
      const timer = setTimeout(() => {
        done({ kind: 'timeout', timeoutMs });
        req.destroy();
      }, timeoutMs);
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const retryAfter = headerValue(res.headers['retry-after']);
        let read = 0;
        // Drain the body so the socket goes back to the pool; a huge one is cut off (and its socket dropped).
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_DRAIN_BYTES) {
            res.destroy();
            done({ kind: 'response', status, retryAfter });
          }
        });
        res.on('end', () => done({ kind: 'response', status, retryAfter }));
        res.on('error', () => done({ kind: 'response', status, retryAfter }));
        res.on('aborted', () => done({ kind: 'response', status, retryAfter }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const message = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
        if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) done({ kind: 'stale-socket', message });
        else done({ kind: 'network', message });
      });
      req.end(body);
    });
  }
}

function headerValue(h: string | string[] | undefined): string | null {
  if (h === undefined) return null;
  return Array.isArray(h) ? (h[0] ?? null) : h;
}

/** A `lookup` that answers with the given addresses only (IPv4 first, as the guard checked every one of them). */
function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const all = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  return (_host, options, callback) => {
    const family = typeof options === 'object' && options ? options.family : undefined;
    const fits = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
    if (fits.length === 0) {
      callback(Object.assign(new Error(`no checked IPv${String(family)} address`), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    if (typeof options === 'object' && options && options.all) (callback as unknown as (e: null, a: typeof fits) => void)(null, fits);
    else callback(null, fits[0]!.address, fits[0]!.family);
  };
}
