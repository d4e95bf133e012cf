import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import cliProgress from 'cli-progress';
import { ApiClient } from './api-client.js';
import { CliError } from './errors.js';
import { LogShipper, type ShipperStats } from './log-shipper.js';

export interface ReplayOptions {
  url: string;
  key: string;
  /** Force a format (X-Vigil-Log-Format); default: detected per record. */
  format?: string;
  /** Lines per POST /v1/logs. */
  batch: number;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress: boolean;
}

export interface ReplayResult extends ShipperStats {
  seconds: number;
}

/**
 * `vigil replay <file>`: ships a file of gateway log lines (NDJSON or text lines such as nginx combined; `.gz`
 * is decompressed) to POST /v1/logs of a running Vigil, in batches, as fast as it accepts them (429 and 503 are
 * retried after Retry-After). Progress on stderr: a bar over the file's bytes with events/s and ETA.
 */
export async function runReplay(file: string, o: ReplayOptions): Promise<ReplayResult> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliError(`cannot read ${file}: no such file`);
  }
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 50_000) throw new CliError('--batch must be an integer from 1 to 50000');
  const client = new ApiClient({ url: o.url, key: o.key });
  const shipper = new LogShipper({ client, ...(o.format ? { format: o.format } : {}) });

  const raw = createReadStream(file);
  let bytes = 0;
  raw.on('data', (chunk) => (bytes += chunk.length));
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });

  const began = performance.now();
  const bar = o.progress
    ? new cliProgress.SingleBar(
        { format: ' {bar} {percentage}% | {events} events | {rate} events/s | ETA {eta_formatted}', etaBuffer: 50, hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(Math.max(size, 1), 0, { events: 0, rate: 0 });
  const tick = () => {
    const secs = (performance.now() - began) / 1000;
    bar?.update(bytes, { events: shipper.stats.records.toLocaleString('en-US'), rate: Math.round(shipper.stats.records / Math.max(secs, 0.001)).toLocaleString('en-US') });
  };

  let pending: string[] = [];
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      pending.push(line);
      if (pending.length >= o.batch) {
        const b = pending;
        pending = [];
        await shipper.send(b);
        tick();
      }
    }
    await shipper.send(pending);
    bytes = Math.max(bytes, size);
    tick();
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'Z_DATA_ERROR') throw new CliError(`${file} is not valid gzip`);
    throw err;
  } finally {
    bar?.stop();
    raw.destroy();
  }
  return { ...shipper.stats, seconds: (performance.now() - began) / 1000 };
}
