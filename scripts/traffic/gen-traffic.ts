/**
 * Generate realistic gateway traffic with labelled attacks.
 *
 *   npm run gen:traffic -- --seed 42 --minutes 120 --rps 200 --attacks all --format kong --out traffic.ndjson --labels labels.json
 *
 * Records go to --out (or stdout), one per line, gzip-compressed when the name ends in .gz; the labels file holds
 * each attack's interval, entity and expected detector (see libs/testing/src/traffic). Progress goes to stderr.
 */
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { ATTACK_CLASSES, TRAFFIC_FORMATS, TrafficPlan, type AttackClass, type TrafficFormat } from '../../libs/testing/src/traffic/index.js';

function integer(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

function attackList(v: string): 'all' | 'none' | AttackClass[] {
  if (v === 'all' || v === 'none') return v;
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((a) => !(ATTACK_CLASSES as readonly string[]).includes(a));
  if (unknown.length || list.length === 0) throw new InvalidArgumentError(`unknown attack class ${unknown.join(', ') || '(empty)'}; use all, none or a comma list of: ${ATTACK_CLASSES.join(', ')}`);
  return list as AttackClass[];
}

function startTime(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`--start must be an ISO time (2024-05-14T08:00:00Z) or epoch ms, got "${v}"`);
  return n;
}

const program = new Command()
  .name('gen-traffic')
  .description(
    'Generate realistic API gateway traffic (diurnal, thousands of IPs, hundreds of tokens, dozens of endpoints) with labelled attacks.\n' +
      `Attack classes: ${ATTACK_CLASSES.join(', ')}.`,
  )
  .option('--seed <n>', 'PRNG seed (same seed + options = same output)', integer('--seed', 0), 42)
  .option('--minutes <n>', 'simulated event time to generate', positive('--minutes'), 120)
  .option('--rps <n>', 'normal requests per second (weekly average; the diurnal curve modulates it)', positive('--rps'), 200)
  .option('--attacks <list>', 'all, none, or a comma list of attack classes', attackList, 'all' as const)
  .addOption(new Option('--format <format>', 'gateway log format').choices([...TRAFFIC_FORMATS]).default('kong'))
  .option('--out <file>', 'records file (.gz to compress); "-" or absent for stdout')
  .option('--labels <file>', 'write the attack labels (JSON) here')
  .option('--start <time>', 'event time of the first request (ISO or epoch ms); default: the run ends at the start of the current hour, so ingest accepts it', startTime)
  .option('--tenant <name>', 'tenant written in the labels', 'acme')
  .option('--ips <n>', 'client IPs in the population', integer('--ips', 10), 4000)
  .option('--tokens <n>', 'API tokens in the population', integer('--tokens', 1), 300)
  .option('--no-diurnal', 'flat rate instead of the day/night and weekday curve')
  .option('--utc-offset <hours>', "users' time zone for the diurnal curve", Number, 0)
  .option('--quiet', 'no progress output')
  .addHelpText('after', '\nExample:\n  npm run gen:traffic -- --seed 42 --minutes 120 --rps 200 --attacks all --format kong --out traffic.ndjson --labels labels.json\n');

interface Cli {
  seed: number; minutes: number; rps: number; attacks: 'all' | 'none' | AttackClass[]; format: TrafficFormat; out?: string; labels?: string;
  start?: number; tenant: string; ips: number; tokens: number; diurnal: boolean; utcOffset: number; quiet?: boolean;
}

async function main(): Promise<void> {
  const o = program.parse().opts<Cli>();
  const durationMs = Math.round(o.minutes * 60_000);
  const hour = 3_600_000;
  const start = o.start ?? Math.floor(Date.now() / hour) * hour - durationMs;
  const plan = ((): TrafficPlan => {
    try {
      return new TrafficPlan({
        seed: o.seed, start, durationMs, rps: o.rps, attacks: o.attacks, format: o.format, tenant: o.tenant, ipCount: o.ips, tokenCount: o.tokens,
        diurnal: o.diurnal, utcOffsetHours: o.utcOffset,
      });
    } catch (err) {
      return program.error(`error: ${(err as Error).message}`);
    }
  })();
  process.stderr.write(`gen-traffic: seed ${o.seed}, ${new Date(start).toISOString()} + ${o.minutes} min, ${o.rps} rps, ${o.format}, ${plan.labels.length} attacks${o.start === undefined ? ` (pass --start ${start} to reproduce)` : ''}\n`);

  const toStdout = o.out === undefined || o.out === '-';
  let sink: Writable = toStdout ? process.stdout : createWriteStream(o.out!);
  const file = sink;
  if (!toStdout && o.out!.endsWith('.gz')) {
    const gz = createGzip({ level: 6 });
    gz.pipe(file);
    sink = gz;
  }
  const bar = o.quiet
    ? null
    : new cliProgress.SingleBar(
        { format: 'event time {bar} {percentage}% | {records} records | {attack} attack | {rate}/s | ETA {eta_formatted}', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5_000, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
  const totalSeconds = Math.ceil(durationMs / 1000);
  bar?.start(totalSeconds, 0, { records: 0, attack: 0, rate: 0 });
  const t0 = Date.now();
  const byLabel: Record<string, number> = {};
  let total = 0;
  let attack = 0;
  let buffer: string[] = [];
  let bufferedChars = 0;
  const flush = async () => {
    if (buffer.length === 0) return;
    const chunk = buffer.join('\n') + '\n';
    buffer = [];
    bufferedChars = 0;
    if (!sink.write(chunk)) await once(sink, 'drain');
  };
  for (const r of plan.records()) {
    total++;
    if (r.label) {
      attack++;
      byLabel[r.label.id] = (byLabel[r.label.id] ?? 0) + 1;
    }
    buffer.push(r.raw);
    bufferedChars += r.raw.length;
    if (bufferedChars > 1 << 20) {
      await flush();
      bar?.update(Math.floor((r.event.ts - start) / 1000), { records: total, attack, rate: Math.round(total / Math.max(0.001, (Date.now() - t0) / 1000)) });
    }
  }
  await flush();
  bar?.update(totalSeconds, { records: total, attack, rate: Math.round(total / Math.max(0.001, (Date.now() - t0) / 1000)) });
  bar?.stop();
  if (!toStdout) {
    sink.end();
    await once(file, 'finish');
  }
  if (o.labels) writeFileSync(o.labels, JSON.stringify(plan.labelsFile({ total, attack, byLabel }), null, 2) + '\n');
  process.stderr.write(`gen-traffic: ${total} records (${attack} attack) in ${((Date.now() - t0) / 1000).toFixed(1)} s${o.out && !toStdout ? ` -> ${o.out}` : ''}${o.labels ? `, labels -> ${o.labels}` : ''}\n`);
}

// `gen-traffic … | head` closes stdout early: stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main().catch((err: unknown) => {
  process.stderr.write(`gen-traffic: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
