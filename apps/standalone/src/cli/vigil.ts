#!/usr/bin/env node
/**
 * The `vigil` command. Runs from the compiled dist (`node apps/standalone/dist/cli/vigil.js`): NestJS needs the
 * decorator metadata that tsc emits.
 *
 *   vigil start                       run standalone (what `npm start` does)
 *   vigil demo                        boot standalone and replay generated traffic with attacks, 60× event time
 *   vigil replay <file>               replay a log file in event time to a running Vigil or to Kafka, with a progress bar
 *   vigil keys create|list|revoke|rotate
 *   vigil incidents [--follow]        recent incidents; --follow streams them live
 */
import 'reflect-metadata';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LogFormat, ROLE_SCOPES, SEVERITY_RANK, TOPICS, type Role, type Severity } from '@vigil/contracts';
import { TRAFFIC_FORMATS } from '@vigil/testing/traffic/index';
import { ApiClient } from './api-client.js';
import { CliError } from './errors.js';
import { incidentLine, incidentRows, listIncidents } from './incidents.js';
import { keyTable, keysApi } from './keys.js';
import { followIncidents } from './live.js';
import { parseSpeed, type ReplaySpeed } from './replay/speed.js';

const DEFAULT_URL = 'http://localhost:8080';
const ROLES = Object.keys(ROLE_SCOPES) as Role[];
const SEVERITIES = Object.keys(SEVERITY_RANK) as Severity[];

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}
function integer(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
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

interface ReplayCli {
  url: string;
  key?: string;
  kafka?: string;
  topic: string;
  tenant?: string;
  format: LogFormat | 'auto';
  speed: ReplaySpeed;
  batch: number;
  retries: number;
  gzip?: boolean;
  json?: boolean;
  progress: boolean;
}

/** --url and --key on every command that talks to a running Vigil (also from VIGIL_URL / VIGIL_KEY). */
function withServer(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'base URL of a running Vigil').env('VIGIL_URL').default(DEFAULT_URL))
    .addOption(new Option('--key <key>', 'API key (admin for keys; npm start prints one on first run)').env('VIGIL_KEY'));
}
function client(o: { url: string; key?: string }): ApiClient {
  return new ApiClient({ url: o.url, key: o.key ?? '' });
}
const print = (s: string) => process.stdout.write(s + '\n');

export function buildProgram(): Command {
  const program = new Command()
    .name('vigil')
    .description('Vigil: real-time anomaly detection for API gateway access logs.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (s, write) => write(s) });

  program
    .command('start')
    .description('Run Vigil standalone (ingest, detector, alerting, dashboard) in this process. Configured by environment variables: PORT (8080), VIGIL_DATA_DIR (.data), see README.')
    .action(async () => {
      const { startStandalone } = await import('./boot.js');
      await startStandalone();
    });

  program
    .command('demo')
    .description('Replay generated gateway traffic with injected attacks in accelerated event time, so incidents appear within a minute. Boots Vigil unless --url is given.')
    .addOption(new Option('--url <url>', 'replay into this running Vigil instead of booting one').env('VIGIL_URL'))
    .addOption(new Option('--key <key>', 'API key for --url (admin, or logs:write + incidents:read + alerts:read)').env('VIGIL_KEY'))
    .option('--speed <n>', 'event time runs this many times faster than the clock', positive('--speed'), 60)
    .option('--minutes <n>', 'simulated minutes of traffic, ending now (warm-up first, then the attacks)', positive('--minutes'), 30)
    .option('--rps <n>', 'normal requests per second of event time', positive('--rps'), 20)
    .option('--seed <n>', 'traffic seed (same seed, same traffic)', integer('--seed', 0), 42)
    .addOption(new Option('--format <format>', 'gateway log format of the generated records').choices([...TRAFFIC_FORMATS]).default('kong'))
    .option('--exit', 'stop when the replay is done (default: keep serving the dashboard)', false)
    .action(async (o: { url?: string; key?: string; speed: number; minutes: number; rps: number; seed: number; format: (typeof TRAFFIC_FORMATS)[number]; exit: boolean }) => {
      // The demo talks to the person at the terminal; the service's JSON info logs would drown it (LOG_LEVEL overrides).
      if (!o.url) process.env['LOG_LEVEL'] ??= 'warn';
      const { runDemo } = await import('./demo.js');
      await runDemo({ ...o, ...(o.url ? { url: o.url } : {}), ...(o.key ? { key: o.key } : {}) });
    });

  const replayCmd = withServer(
    program
      .command('replay')
      .description(
        'Replay a gateway log file (NDJSON / JSON lines or text lines such as nginx; gzip is decompressed) through Vigil, in event time: ' +
          'to POST /v1/logs of a running Vigil (default), or to the raw-logs Kafka topic with --kafka. Progress bar with events/s and ETA, summary at the end.',
      )
      .argument('<file>', 'log file, one record per line')
      .option('--kafka <brokers>', 'produce to Kafka instead (bootstrap brokers, comma-separated host:port)')
      .option('--topic <topic>', 'Kafka topic for --kafka', TOPICS.rawLogs)
      .option('--tenant <tenant>', 'tenant header on Kafka messages (over HTTP the key\'s tenant applies)')
      .addOption(new Option('--format <format>', 'force the log format (default: detected per record)').choices(['auto', ...LogFormat.options]).default('auto'))
      .addOption(
        new Option('--speed <speed>', '"max", or an event-time acceleration such as 60x (one hour of logs per minute)')
          .argParser(speedArg)
          .default({ kind: 'max' } satisfies ReplaySpeed, 'max'),
      )
      .option('--batch <n>', 'records per request / produce call', integer('--batch', 1), 2000)
      .option('--retries <n>', 'HTTP attempts per batch on 429/503 before giving up', integer('--retries', 1), 8)
      .option('--gzip', 'gzip HTTP request bodies')
      .option('--json', 'print the summary as one JSON object')
      .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
      .addHelpText(
        'after',
        '\nExamples:\n  vigil replay traffic.ndjson.gz --key $VIGIL_KEY --speed 60x\n  vigil replay access.log.gz --format nginx --kafka 127.0.0.1:9092 --topic vigil.access-logs.raw\n',
      ),
  );
  replayCmd.action(async (file: string, o: ReplayCli) => {
    const fromCli = (name: string) => replayCmd.getOptionValueSource(name) === 'cli';
    if (o.kafka !== undefined && fromCli('url')) throw new CliError('give one destination: --url (a running Vigil) or --kafka (brokers)');
    if (o.kafka === undefined && (fromCli('topic') || o.tenant !== undefined)) throw new CliError('--topic and --tenant apply to --kafka only (over HTTP, the API key\'s tenant applies)');
    const { runReplayCommand, replaySummaryText } = await import('./replay/replay-command.js');
    const r = await runReplayCommand(file, {
      destination:
        o.kafka !== undefined
          ? { kind: 'kafka', brokers: o.kafka.split(',').map((b) => b.trim()).filter(Boolean), topic: o.topic, ...(o.tenant ? { tenant: o.tenant } : {}) }
          : { kind: 'http', url: o.url, key: o.key ?? '' },
      format: o.format, batch: o.batch, speed: o.speed, retries: o.retries, gzip: o.gzip === true,
      progress: o.progress && process.stderr.isTTY === true,
    });
    print(o.json ? JSON.stringify(r) : replaySummaryText(r));
  });

  const keys = program.command('keys').description('Manage API keys of a running Vigil (needs an admin key).');
  withServer(
    keys
      .command('create')
      .description('Create a key; its token is printed once.')
      .requiredOption('--name <name>', 'what the key is for')
      .addOption(new Option('--role <role>', 'bundle of scopes').choices(ROLES).default('viewer'))
      .option('--allow-ip <ip...>', 'only from these IPs / CIDRs')
      .option('--expires-in <seconds>', 'lifetime in seconds', integer('--expires-in', 1)),
  ).action(async (o: { url: string; key?: string; name: string; role: string; allowIp?: string[]; expiresIn?: number }) => {
    const k = await keysApi(client(o)).create({ name: o.name, role: o.role, ...(o.allowIp ? { allowedIps: o.allowIp } : {}), ...(o.expiresIn ? { expiresInSeconds: o.expiresIn } : {}) });
    print(`Created key ${k.id} (${k.role}: ${k.scopes.join(', ')}). Token, shown once:\n${k.token}`);
  });
  withServer(keys.command('list').description('List the keys of your tenant (never their tokens).').option('--json', 'JSON output')).action(
    async (o: { url: string; key?: string; json?: boolean }) => {
      const list = await keysApi(client(o)).list();
      print(o.json ? JSON.stringify(list, null, 2) : keyTable(list));
    },
  );
  withServer(keys.command('revoke').description('Revoke a key now.').argument('<id>', 'key id (from keys list)')).action(async (id: string, o: { url: string; key?: string }) => {
    const k = await keysApi(client(o)).revoke(id);
    print(`Revoked key ${k.id} (${k.name}).`);
  });
  withServer(
    keys
      .command('rotate')
      .description('Issue a new token for a key; the old one keeps working for --overlap seconds.')
      .argument('<id>', 'key id (from keys list)')
      .option('--overlap <seconds>', 'how long the old token keeps working', integer('--overlap', 0), 86_400),
  ).action(async (id: string, o: { url: string; key?: string; overlap: number }) => {
    const r = await keysApi(client(o)).rotate(id, o.overlap);
    print(`Rotated ${r.previous.id} → ${r.key.id}; the old token works for ${o.overlap} s more. New token, shown once:\n${r.key.token}`);
  });

  withServer(
    program
      .command('incidents')
      .description('Recent incidents, newest first; --follow then streams incidents live (socket.io).')
      .option('-f, --follow', 'keep streaming incidents as they open, change and resolve')
      .option('--limit <n>', 'how many recent incidents to list', integer('--limit', 0), 20)
      .addOption(new Option('--status <status>', 'only this status').choices(['open', 'acknowledged', 'resolved']))
      .addOption(new Option('--severity <severity>', 'minimum severity').choices(SEVERITIES))
      .option('--json', 'one JSON object per line'),
  ).action(async (o: { url: string; key?: string; follow?: boolean; limit: number; status?: string; severity?: Severity; json?: boolean }) => {
    const c = client(o);
    if (o.limit > 0) {
      const items = (await listIncidents(c, { limit: o.limit, ...(o.status ? { status: o.status } : {}), ...(o.severity ? { severity: o.severity } : {}) })).reverse();
      if (o.json) for (const i of items) print(JSON.stringify(i));
      else print(items.length ? incidentRows(items) : 'No incidents.');
    }
    if (!o.follow) return;
    await followIncidents(
      c,
      (type, e) => {
        if (o.status && e.incident.status !== o.status) return;
        print(o.json ? JSON.stringify({ type, eventId: e.eventId, incident: e.incident }) : incidentLine(type, e.incident));
      },
      o.severity ? { minSeverity: o.severity } : {},
    );
    if (!o.json) process.stderr.write(`Following incidents at ${c.url} (Ctrl-C to stop) ...\n`);
    await new Promise<never>(() => undefined);
  });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`vigil: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}
