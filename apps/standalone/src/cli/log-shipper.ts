import { CliError } from './errors.js';
import { ApiClient, explainStatus } from './api-client.js';

export interface ShipperStats {
  records: number;
  accepted: number;
  rejected: number;
  requests: number;
  /** 429/503 answers that were retried. */
  retries: number;
}

export interface LogShipperOptions {
  client: ApiClient;
  /** Force one log format (X-Vigil-Log-Format); absent: detected per record. */
  format?: string;
  /** Give up on one batch after this many 429/503 answers in a row. */
  maxRetries?: number;
  sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Ships raw gateway log lines to POST /v1/logs in batches (NDJSON, or text lines when they are not JSON). Honours
 * backpressure: a 429 or 503 is retried after its Retry-After (the records are idempotent by event id).
 */
export class LogShipper {
  readonly stats: ShipperStats = { records: 0, accepted: 0, rejected: 0, requests: 0, retries: 0 };
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: LogShipperOptions) {
    this.sleep = o.sleep ?? sleepMs;
  }

  async send(lines: string[]): Promise<void> {
    if (!lines.length) return;
    const json = lines[0]?.trimStart().startsWith('{') ?? false;
    const body = lines.join('\n') + '\n';
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.o.client.token}`,
      'Content-Type': json ? 'application/x-ndjson' : 'text/plain',
      ...(this.o.format ? { 'X-Vigil-Log-Format': this.o.format } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      const res = await this.o.client.fetch('/v1/logs', { method: 'POST', headers, body });
      this.stats.requests += 1;
      const text = await res.text();
      if (res.ok) {
        const r = JSON.parse(text) as { accepted: number; rejected: number };
        this.stats.records += lines.length;
        this.stats.accepted += r.accepted;
        this.stats.rejected += r.rejected;
        return;
      }
      if ((res.status === 429 || res.status === 503) && attempt < (this.o.maxRetries ?? 30)) {
        this.stats.retries += 1;
        const after = Number(res.headers.get('retry-after'));
        await this.sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : Math.min(200 * 2 ** attempt, 5000));
        continue;
      }
      let message = text.slice(0, 300);
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
      } catch {
        /* not JSON */
      }
      throw new CliError(explainStatus(res.status, message, 'shipping logs to POST /v1/logs'));
    }
  }
}
