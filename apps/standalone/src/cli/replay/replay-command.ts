import cliProgress from 'cli-progress';
import type { LogFormat } from '@vigil/contracts';
import { parseRecord, type ParseContext, type ParseResult } from '@vigil/ingest/parsers/index';
import { KafkaEventBus } from '@vigil/platform';
import { ApiClient, explainStatus, messageOf } from '../api-client.js';
import { CliError } from '../errors.js';
import { readLines, type LineSource } from './read-lines.js';
import { replay, type ReplaySummary } from './replay.js';
import { BusShipper, FatalShipError, HttpShipper, type Shipper } from './shippers.js';
import type { ReplaySpeed } from './speed.js';

/** Where `vigil replay` sends the records: POST /v1/logs of a running Vigil, or the raw-logs Kafka topic. */
export type ReplayDestination =
  | { kind: 'http'; url: string; key: string }
  | { kind: 'kafka'; brokers: string[]; topic: string; tenant?: string };

export interface ReplayCommandOptions {
  destination: ReplayDestination;
  format: LogFormat | 'auto';
  /** Records per request / produce call. */
  batch: number;
  speed: ReplaySpeed;
  /** HTTP attempts per batch on 429 / 503 / network errors. */
  retries: number;
  /** gzip HTTP request bodies. */
  gzip: boolean;
  /** Draw the progress bar (on stderr). */
  progress: boolean;
  /** Progress bar and retry notes. Default: stderr. */
  stderr?: NodeJS.WritableStream;
}

export interface ReplayCommandResult extends ReplaySummary {
  /** Where the records went, for the summary: `http://host/v1/logs` or `kafka <brokers> topic <topic>`. */
  target: string;
  kafka: boolean;
}

const INTAKE = 'shipping logs to POST /v1/logs';

/**
 * `vigil replay <file>` (and `npm run replay`): streams a gateway log file (NDJSON / JSON lines or text lines such as
 * nginx combined, plain or gzip) through the replay core to the destination, paced by the records' own event time
 * unless the speed is max. The ingest parser itself reads each record's event time and says what ingest would reject.
 */
export async function runReplayCommand(file: string, o: ReplayCommandOptions): Promise<ReplayCommandResult> {
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 50_000) throw new CliError('--batch must be an integer from 1 to 50000');
  let source: LineSource;
  try {
    source = readLines(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const d = o.destination;
  const stderr = o.stderr ?? process.stderr;
  let shipper: Shipper;
  let target: string;
  if (d.kind === 'http') {
    const url = await checkIntake(d.url, d.key);
    target = `${url}/v1/logs`;
    shipper = new HttpShipper({
      url, key: d.key, format: o.format, gzip: o.gzip, maxAttempts: o.retries,
      onRetry: ({ attempt, status, waitMs }) => stderr.write(`\nvigil replay: ${status}; retry ${attempt} in ${waitMs} ms\n`),
    });
  } else {
    if (d.brokers.length === 0) throw new CliError('--kafka needs at least one broker (host:port)');
    target = `kafka ${d.brokers.join(',')} topic ${d.topic}`;
    const headers: Record<string, string> = {};
    if (d.tenant) headers['tenant'] = d.tenant;
    if (o.format !== 'auto') headers['format'] = o.format;
    shipper = new BusShipper({ bus: new KafkaEventBus({ brokers: d.brokers, clientId: 'vigil-replay' }), topic: d.topic, headers, ownsBus: true });
  }

  const parsed = parserFor(o.format, d.kind === 'kafka' ? d.tenant : undefined);
  const bar = o.progress
    ? new cliProgress.SingleBar(
        {
          format: ' {bar} {percentage}% | {sent} events | {rate} events/s | event time {eventTime} | ETA {eta_formatted}',
          etaBuffer: 50, hideCursor: true, stream: stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const began = performance.now();
  bar?.start(Math.max(source.totalBytes, 1), 0, { sent: 0, rate: 0, eventTime: '-' });
  try {
    const summary = await replay({
      records: source.lines,
      shipper,
      batchSize: o.batch,
      speed: o.speed,
      timestampOf: (raw) => {
        const p = parsed(raw);
        return p.ok ? p.event.ts : undefined;
      },
      precheck: (raw) => {
        const p = parsed(raw);
        return p.ok ? null : p.reason;
      },
      onProgress: (p) =>
        bar?.update(source.bytesRead(), {
          sent: fmtInt(p.sent),
          rate: fmtInt(p.sent / Math.max(0.001, (performance.now() - began) / 1000)),
          eventTime: p.eventTs === undefined ? '-' : isoSecond(p.eventTs),
        }),
    });
    bar?.update(Math.max(source.totalBytes, 1));
    return { ...summary, target, kafka: d.kind === 'kafka' };
  } catch (err) {
    throw asCliError(err, file, target);
  } finally {
    bar?.stop();
  }
}

/**
 * POSTs an empty batch before reading the file: an unreachable server, a refused key or a key without logs:write
 * fails at once with one line instead of after the retries. A busy server (429 / 503) is left to the shipper.
 * Returns the normalised base URL.
 */
async function checkIntake(url: string, key: string): Promise<string> {
  const client = new ApiClient({ url, key });
  const res = await client.fetch('/v1/logs', {
    method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/x-ndjson' }, body: '',
  });
  const text = await res.text();
  if (!res.ok && res.status !== 429 && res.status !== 503) {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    throw new CliError(explainStatus(res.status, messageOf(body) ?? res.statusText, INTAKE));
  }
  return client.url;
}

/** The ingest parser over one record, remembered for the record just parsed (timestampOf and precheck ask in turn). */
function parserFor(format: LogFormat | 'auto', tenant: string | undefined): (raw: string) => ParseResult {
  const ctx: ParseContext = {
    tenant: tenant ?? 'replay', now: Date.now(), trustedProxies: [], hashKey: 'replay-local-check', format,
    // Any age: an old log file replays as it was.
    maxAgeMs: Number.MAX_SAFE_INTEGER / 2, maxFutureMs: Number.MAX_SAFE_INTEGER / 2,
  };
  let lastRaw: string | null = null;
  let last: ParseResult | null = null;
  return (raw) => {
    if (raw !== lastRaw || last === null) {
      lastRaw = raw;
      last = parseRecord(raw, ctx);
    }
    return last;
  };
}

function asCliError(err: unknown, file: string, target: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof FatalShipError) return new CliError(explainStatus(err.status, err.serverMessage, INTAKE));
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') return new CliError(`${file} is not valid gzip`);
  if (err instanceof Error) return new CliError(`replaying ${file} to ${target}: ${err.message}`);
  return err;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const isoSecond = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';

/** The human summary `vigil replay` prints on stdout. */
export function replaySummaryText(r: ReplayCommandResult): string {
  const secs = r.wallMs / 1000;
  const rate = Math.round(r.sent / Math.max(secs, 0.001));
  const head = r.kafka
    ? `${r.accepted} accepted by the broker (ingest parses them later) of ${r.sent} records`
    : `${r.accepted} accepted, ${r.rejected} rejected (dead-lettered) of ${r.sent} records`;
  const lines = [`${head} in ${secs.toFixed(1)} s (${rate} events/s) → ${r.target}`];
  const reasons = Object.entries(r.reasons);
  if (reasons.length) lines.push(`  rejected: ${counts(reasons)}`);
  const local = Object.entries(r.locallyInvalid);
  if (r.kafka && local.length) lines.push(`  ingest will reject (local check): ${counts(local)}`);
  if (r.firstEventTs !== null && r.lastEventTs !== null) {
    lines.push(`  event time ${isoSecond(r.firstEventTs)} … ${isoSecond(r.lastEventTs)}${r.untimed ? ` (${r.untimed} records without a readable timestamp)` : ''}`);
  }
  return lines.join('\n');
}

const counts = (entries: [string, number][]) => entries.map(([k, v]) => `${k} ${v}`).join(', ');
