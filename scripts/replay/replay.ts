/**
 * Replay a gateway log through Vigil, in event time, with a progress bar.
 *
 *   npm run replay -- traffic.ndjson.gz --url http://localhost:8080 --key vgl_…      (POST /v1/logs in batches)
 *   npm run replay -- access.log --kafka 127.0.0.1:9092 --topic vigil.access-logs.raw  (produce raw records)
 *
 * Reads NDJSON / JSON lines or text lines (nginx), plain or gzip. `--speed max` sends as fast as the destination
 * takes it; `--speed 60x` replays one hour of logs per minute, paced by the records' own timestamps.
 * Timestamps and the local validity check use the ingest parser itself, so every supported format works.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { LogFormat, TOPICS } from '@vigil/contracts';
import { parseRecord, type ParseContext } from '../../apps/ingest/src/parsers/index.js';
import { KafkaEventBus } from '../../libs/platform/src/bus/kafka-event-bus.js';
import {
  BusShipper, FatalShipError, HttpShipper, parseSpeed, readLines, replay, type ReplaySpeed, type Shipper,
} from '../../libs/testing/src/replay/index.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function speedArg(v: string): ReplaySpeed {
  try {
    return parseSpeed(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const program = new Command()
  .name('replay')
  .description('Feed a gateway log file through Vigil in event time: to a running Vigil over HTTP, or to the Kafka raw-logs topic.')
  .argument('<file>', 'log file: NDJSON / JSON lines or text lines, optionally gzip-compressed')
  .option('--url <url>', 'base URL of a running Vigil (POST <url>/v1/logs)')
  .option('--key <key>', 'API key with logs:write for --url (default: $VIGIL_API_KEY)')
  .option('--kafka <brokers>', 'Kafka bootstrap brokers, comma-separated (host:port)')
  .option('--topic <topic>', 'Kafka topic for --kafka', TOPICS.rawLogs)
  .option('--tenant <tenant>', 'tenant header on Kafka messages (HTTP uses the API key\'s tenant)')
  .addOption(new Option('--format <format>', 'force a log format instead of detecting it per record').choices(['auto', ...LogFormat.options]).default('auto'))
  .option('--batch <n>', 'records per request / produce call', positiveInt('--batch'), 500)
  .option('--speed <speed>', '"max", or an event-time acceleration such as 60x', speedArg, { kind: 'max' } as ReplaySpeed)
  .option('--retries <n>', 'HTTP attempts per batch on 429/503 before giving up', positiveInt('--retries'), 8)
  .option('--gzip', 'gzip HTTP request bodies')
  .option('--quiet', 'no progress bar')
  .addHelpText('after', '\nExamples:\n  npm run replay -- traffic.ndjson.gz --url http://localhost:8080 --key vgl_... --speed 60x\n  npm run replay -- access.log --kafka 127.0.0.1:9092 --topic vigil.access-logs.raw --format nginx\n');

interface Cli {
  url?: string; key?: string; kafka?: string; topic: string; tenant?: string; format: string; batch: number; speed: ReplaySpeed;
  retries: number; gzip?: boolean; quiet?: boolean;
}

async function main(): Promise<void> {
  program.parse();
  const file = program.args[0]!;
  const o = program.opts<Cli>();
  if ((o.url === undefined) === (o.kafka === undefined)) program.error('error: give exactly one destination: --url <vigil url> or --kafka <brokers>');
  const key = o.key ?? process.env['VIGIL_API_KEY'];
  if (o.url !== undefined && !key) program.error('error: --url needs an API key: --key vgl_… or VIGIL_API_KEY');
  const source = ((): ReturnType<typeof readLines> => {
    try {
      return readLines(file);
    } catch (err) {
      return program.error(`error: cannot read ${file}: ${(err as Error).message}`);
    }
  })();

  // The ingest parser gives each record's event time and the reason ingest would reject it.
  const ctx: ParseContext = {
    tenant: o.tenant ?? 'replay', now: Date.now(), trustedProxies: [], hashKey: 'replay-local-check', format: o.format as LogFormat | 'auto',
    maxAgeMs: Number.MAX_SAFE_INTEGER / 2, maxFutureMs: Number.MAX_SAFE_INTEGER / 2,
  };
  let lastRaw = '';
  let lastParse: ReturnType<typeof parseRecord> | null = null;
  const parsed = (raw: string) => {
    if (raw !== lastRaw || lastParse === null) {
      lastRaw = raw;
      lastParse = parseRecord(raw, ctx);
    }
    return lastParse;
  };
  const bar = o.quiet
    ? null
    : new cliProgress.SingleBar(
        {
          format: '{bar} {percentage}% | {sent} sent, {rejected} rejected | {rate} ev/s | event time {eventTime} | ETA {eta_formatted}',
          stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5_000, etaBuffer: 30,
        },
        cliProgress.Presets.shades_classic,
      );
  // Peek at the first record: JSON lines go as NDJSON, text lines (nginx) as text/plain.
  const it = source.lines[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) {
    process.stderr.write(`replay: ${file} has no records\n`);
    return;
  }
  const contentType = first.value.trimStart().startsWith('{') ? 'application/x-ndjson' : 'text/plain';
  let shipper: Shipper;
  if (o.url !== undefined) {
    shipper = new HttpShipper({
      url: o.url, key: key!, format: o.format, contentType, gzip: o.gzip ?? false, maxAttempts: o.retries,
      onRetry: ({ attempt, status, waitMs }) => process.stderr.write(`\nreplay: ${status}; retry ${attempt} in ${waitMs} ms\n`),
    });
  } else {
    const headers: Record<string, string> = {};
    if (o.tenant) headers['tenant'] = o.tenant;
    if (o.format !== 'auto') headers['format'] = o.format;
    const brokers = o.kafka!.split(',').map((b) => b.trim()).filter(Boolean);
    shipper = new BusShipper({ bus: new KafkaEventBus({ brokers, clientId: 'vigil-replay' }), topic: o.topic, headers, ownsBus: true });
  }
  async function* records(): AsyncGenerator<string> {
    yield first.value as string;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }

  const t0 = Date.now();
  bar?.start(source.totalBytes, 0, { sent: 0, rejected: 0, rate: 0, eventTime: '-' });
  const summary = await replay({
    records: records(),
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
        sent: p.sent, rejected: p.rejected, rate: Math.round(p.sent / Math.max(0.001, (Date.now() - t0) / 1000)),
        eventTime: p.eventTs === undefined ? '-' : new Date(p.eventTs).toISOString().slice(0, 19) + 'Z',
      }),
  });
  bar?.update(source.totalBytes);
  bar?.stop();

  const lines = [
    `replay: ${summary.sent} sent to ${o.url ? `${o.url.replace(/\/+$/, '')}/v1/logs` : `kafka ${o.kafka} topic ${o.topic}`} in ${(summary.wallMs / 1000).toFixed(1)} s (${Math.round(summary.sent / Math.max(0.001, summary.wallMs / 1000))} ev/s)`,
    `  accepted: ${summary.accepted}${o.kafka ? ' (by the broker; ingest parses them later)' : ''}`,
    `  rejected: ${summary.rejected}${Object.keys(summary.reasons).length ? ' — ' + Object.entries(summary.reasons).map(([k, v]) => `${k} ${v}`).join(', ') : ''}`,
  ];
  const local = Object.entries(summary.locallyInvalid);
  if (local.length) lines.push(`  the local ingest check would reject: ${local.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (summary.firstEventTs !== null) lines.push(`  event time: ${new Date(summary.firstEventTs).toISOString()} … ${new Date(summary.lastEventTs!).toISOString()}${summary.untimed ? ` (${summary.untimed} records without a readable timestamp)` : ''}`);
  process.stderr.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ sent: summary.sent, accepted: summary.accepted, rejected: summary.rejected, reasons: summary.reasons, locallyInvalid: summary.locallyInvalid }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`\nreplay: ${err instanceof FatalShipError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
