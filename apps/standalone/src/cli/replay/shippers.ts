import { gzipSync } from 'node:zlib';
import type { EventBus } from '@vigil/platform';

/** What a destination made of one batch. */
export interface ShipResult {
  accepted: number;
  rejected: number;
  /** Rejection reasons (e.g. ingest's `invalid_status`) with counts. */
  reasons: Record<string, number>;
}

export interface Shipper {
  ship(records: string[]): Promise<ShipResult>;
  close(): Promise<void>;
}

/** A failure retrying cannot fix (bad key, bad request): the replay stops with this message. */
export class FatalShipError extends Error {
  constructor(
    message: string,
    /** The HTTP status that answered. */
    readonly status: number,
    /** The server's own message (the body's `message`, or the body). */
    readonly serverMessage: string,
  ) {
    super(message);
    this.name = 'FatalShipError';
  }
}

export interface HttpShipperOptions {
  /** Base URL of a running Vigil (`http://localhost:8080`); records go to POST {url}/v1/logs. */
  url: string;
  /** API key with the logs:write scope. */
  key: string;
  /** Force a format for every record (X-Vigil-Log-Format); 'auto' or undefined detects per record. */
  format?: string;
  /** `application/x-ndjson` for JSON records, `text/plain` for text lines. Default: chosen per batch by contentTypeOf. */
  contentType?: string;
  gzip?: boolean;
  /** Attempts per batch on 429 / 503 / network errors before giving up. Default 8. */
  maxAttempts?: number;
  /** Backoff when the server gives no Retry-After: base * 2^attempt, capped at 30 s. Default 250 ms. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (for progress output). */
  onRetry?: (info: { attempt: number; status: number | string; waitMs: number }) => void;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After in seconds or as an HTTP date, to ms; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const s = header.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** JSON records go as NDJSON, anything else (nginx combined, ...) as text lines: judged by a batch's first record. */
export function contentTypeOf(firstRecord: string | undefined): string {
  return firstRecord?.trimStart().startsWith('{') ? 'application/x-ndjson' : 'text/plain';
}

/** The low-level reason a fetch failed (ECONNREFUSED, ENOTFOUND, ...), else its message. Duck-typed: errors may come from another realm. */
export function networkCause(err: unknown): string {
  const fields = (e: unknown) => (e !== null && typeof e === 'object' ? (e as { cause?: unknown; code?: unknown; message?: unknown }) : {});
  const outer = fields(err);
  const inner = outer.cause !== undefined ? fields(outer.cause) : outer;
  if (typeof inner.code === 'string' && inner.code) return inner.code;
  if (typeof inner.message === 'string' && inner.message) return inner.message;
  return typeof outer.message === 'string' ? outer.message : String(err);
}

interface IntakeBody {
  accepted?: unknown;
  rejected?: unknown;
  errors?: unknown;
  message?: unknown;
}

/** Ships batches to POST /v1/logs of a running Vigil, retrying 429 and 503 as the server asks. */
export class HttpShipper implements Shipper {
  private readonly endpoint: string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: HttpShipperOptions) {
    this.endpoint = o.url.replace(/\/+$/, '') + '/v1/logs';
    this.sleep = o.sleep ?? realSleep;
  }

  async ship(records: string[]): Promise<ShipResult> {
    const text = records.join('\n') + '\n';
    const body = this.o.gzip ? gzipSync(text) : Buffer.from(text);
    const headers: Record<string, string> = { 'content-type': this.o.contentType ?? contentTypeOf(records[0]), authorization: `Bearer ${this.o.key}` };
    if (this.o.gzip) headers['content-encoding'] = 'gzip';
    if (this.o.format && this.o.format !== 'auto') headers['x-vigil-log-format'] = this.o.format;
    const maxAttempts = this.o.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      let status: number | string;
      let wait: number | null = null;
      try {
        const res = await fetch(this.endpoint, { method: 'POST', headers, body });
        status = res.status;
        const parsed = (await res.json().catch(() => ({}))) as IntakeBody;
        if (res.ok) return toResult(parsed, records.length);
        if (res.status !== 429 && res.status !== 503) {
          const msg = typeof parsed.message === 'string' ? parsed.message : JSON.stringify(parsed);
          throw new FatalShipError(`POST ${this.endpoint} answered ${res.status}: ${msg}`, res.status, msg);
        }
        wait = retryAfterMs(res.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof FatalShipError) throw err;
        status = networkCause(err);
      }
      if (attempt >= maxAttempts) throw new Error(`POST ${this.endpoint} still failing after ${attempt} attempts (last: ${status})`);
      const waitMs = wait ?? Math.min(30_000, (this.o.backoffMs ?? 250) * 2 ** (attempt - 1));
      this.o.onRetry?.({ attempt, status, waitMs });
      await this.sleep(waitMs);
    }
  }

  async close(): Promise<void> {}
}

function toResult(b: IntakeBody, sent: number): ShipResult {
  const accepted = typeof b.accepted === 'number' ? b.accepted : sent;
  const rejected = typeof b.rejected === 'number' ? b.rejected : 0;
  const reasons: Record<string, number> = {};
  if (Array.isArray(b.errors)) {
    for (const e of b.errors as { reason?: unknown }[]) {
      const r = typeof e?.reason === 'string' ? e.reason : 'unknown';
      reasons[r] = (reasons[r] ?? 0) + 1;
    }
  }
  return { accepted, rejected, reasons };
}

export interface BusShipperOptions {
  bus: EventBus;
  topic: string;
  /** Message headers ingest reads: `tenant`, `format`. */
  headers?: Record<string, string>;
  /** Close the bus when the replay ends (when the shipper created it). */
  ownsBus?: boolean;
}

/**
 * Ships raw records to the raw-logs topic through the event bus (Kafka in distributed mode), as a gateway's
 * Kafka logger would. The broker accepts every record; parsing and rejection happen in ingest later.
 */
export class BusShipper implements Shipper {
  constructor(private readonly o: BusShipperOptions) {}

  async ship(records: string[]): Promise<ShipResult> {
    const headers = this.o.headers ?? {};
    await this.o.bus.publish(this.o.topic, records.map((value) => ({ key: null, value, headers })));
    return { accepted: records.length, rejected: 0, reasons: {} };
  }

  async close(): Promise<void> {
    if (this.o.ownsBus) await this.o.bus.close();
  }
}
