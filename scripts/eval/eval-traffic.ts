/**
 * Evaluate the detector on generated traffic: a seeded run of the traffic generator (warm-up, then every attack
 * class) through the detector's engine in-process, in event time; prints per-class recall and detection latency and
 * the false-anomaly rate per 100k normal events.
 *
 *   npm run eval:traffic -- --seed 42 --hours 30 --warmup-hours 24 --rps 12
 *
 * --ingest sends every record through the real ingest parser first (the format's blind spots included: nginx logs
 * carry no TLS, country or ASN). --json prints the report as JSON. Exit code 1 when an attack class is missed in
 * time or the false-anomaly rate is above --max-fp-per-100k.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDetectorsConfig } from '../../apps/detector/src/detectors/detector-config.js';
import { detectorsForTraffic, evaluateDetector, type EvalRecord, type EvaluationReport } from '../../apps/detector/src/evaluation/evaluate.js';
import { parseRecord } from '../../apps/ingest/src/parsers/index.js';
import { TRAFFIC_FORMATS, TrafficPlan, type TrafficFormat } from '../../libs/testing/src/traffic/index.js';
import { readFileSync } from 'node:fs';

const HOUR = 3_600_000;

function num(name: string, min: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${v}"`);
    return n;
  };
}

const program = new Command()
  .name('eval-traffic')
  .description('Detector recall, detection latency and false-anomaly rate on seeded, labelled generated traffic.')
  .option('--seed <n>', 'traffic seed', num('--seed', 0, true), 42)
  .option('--hours <n>', 'event time generated in total (warm-up included)', num('--hours', 0.1), 30)
  .option('--warmup-hours <n>', 'attack-free learning period at the start', num('--warmup-hours', 0), 24)
  .option('--rps <n>', 'normal requests per second (weekly average; diurnal curve applies)', num('--rps', 0.1), 12)
  .option('--start <iso>', 'event time of the first request', '2024-05-13T00:00:00Z')
  .option('--ips <n>', 'client IPs in the population', num('--ips', 10, true), 4000)
  .option('--tokens <n>', 'tokens in the population', num('--tokens', 1, true), 300)
  .option('--window-ms <n>', 'detector window', num('--window-ms', 1000, true), 60_000)
  .option('--config <file>', 'detector config', 'config/detectors.yaml')
  .option('--disable <detectors>', 'comma list of detector config keys to switch off (e.g. bruteForce), to see what the others catch', '')
  .addOption(new Option('--format <format>', 'gateway log format (matters with --ingest)').choices([...TRAFFIC_FORMATS]).default('kong'))
  .option('--ingest', 'parse every raw record with the real ingest parser instead of using the ground-truth event')
  .option('--max-fp-per-100k <n>', 'exit 1 above this false-anomaly rate', num('--max-fp-per-100k', 0), 1)
  .option('--show-false <n>', 'print up to n false anomalies', num('--show-false', 0, true), 10)
  .option('--json', 'print the report as JSON');

interface Cli {
  seed: number; hours: number; warmupHours: number; rps: number; start: string; ips: number; tokens: number; windowMs: number; config: string;
  disable: string; format: TrafficFormat; ingest?: boolean; maxFpPer100k: number; showFalse: number; json?: boolean;
}

function* throughIngest(plan: TrafficPlan): Generator<EvalRecord> {
  let rejected = 0;
  for (const r of plan.records()) {
    const p = parseRecord(r.raw, { tenant: plan.options.tenant, now: r.event.ts, trustedProxies: [], hashKey: 'eval-hash-key', routeSource: 'template', format: plan.options.format });
    if (!p.ok) {
      if (++rejected <= 3) process.stderr.write(`ingest rejected a record (${p.reason}: ${p.message})\n`);
      continue;
    }
    yield r.label ? { event: p.event, label: r.label } : { event: p.event };
  }
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function print(report: EvaluationReport, o: Cli, elapsedMs: number): void {
  const e = report.events;
  const out: string[] = [];
  out.push(`seed ${o.seed}, ${o.hours} h at ${o.rps} rps (warm-up ${o.warmupHours} h), window ${fmtS(report.windowMs)}${o.ingest ? `, through the ${o.format} ingest parser` : ''}`);
  out.push(`events: ${e.total.toLocaleString('en-US')} (${e.normal.toLocaleString('en-US')} normal, ${e.attack.toLocaleString('en-US')} attack); normal after warm-up: ${e.evaluatedNormal.toLocaleString('en-US')}`);
  out.push('');
  out.push('class                  attacks  in time  recall  latency min / median / max');
  for (const [cls, c] of Object.entries(report.classes).sort()) {
    const lat = c.latencyMs ? `${fmtS(c.latencyMs.min)} / ${fmtS(c.latencyMs.median)} / ${fmtS(c.latencyMs.max)}` : '—';
    out.push(`${cls.padEnd(22)} ${String(c.attacks).padStart(7)} ${String(c.inTime).padStart(8)} ${(c.recall * 100).toFixed(0).padStart(6)}%  ${lat}`);
  }
  out.push('');
  for (const a of report.attacks) {
    const m = a.match;
    out.push(
      `${a.label.id.padEnd(34)} ${a.inTime ? 'in time' : a.detected ? 'LATE   ' : 'MISSED '} ${m ? `${m.detector} ${m.entityType} ${m.entity.slice(0, 40)} score ${m.score.toFixed(2)}${m.early ? ' early' : ''}, latency ${fmtS(a.latencyMs ?? 0)}` : `(${a.events} attack events)`}; collateral ${a.collateral}`,
    );
  }
  out.push('');
  const an = report.anomalies;
  out.push(`anomalies: ${an.total} (${an.matched} matched, ${an.collateral} collateral on attack entities, ${an.warmup} unexplained during warm-up, ${an.false} false after warm-up)`);
  out.push(`false anomalies: ${an.false} over ${e.evaluatedNormal.toLocaleString('en-US')} normal events = ${report.falsePer100k.toFixed(3)} per 100k (target <= ${o.maxFpPer100k})`);
  for (const a of [...report.falseAnomalies, ...report.warmupAnomalies].slice(0, o.showFalse)) {
    out.push(`  ${new Date(a.windowStart).toISOString()} ${a.detector} ${a.entityType} ${a.entity} score ${a.score.toFixed(2)}: ${a.explanation.slice(0, 200)}`);
  }
  out.push(`evaluated in ${fmtS(elapsedMs)}`);
  process.stdout.write(out.join('\n') + '\n');
}

function main(): void {
  const o = program.parse().opts<Cli>();
  const start = Date.parse(o.start);
  if (!Number.isFinite(start)) throw new InvalidArgumentError(`--start must be an ISO time, got "${o.start}"`);
  const plan = new TrafficPlan({
    seed: o.seed, start, durationMs: Math.round(o.hours * HOUR), warmupMs: Math.round(o.warmupHours * HOUR), rps: o.rps, ipCount: o.ips, tokenCount: o.tokens, format: o.format,
  });
  const file = parseDetectorsConfig(readFileSync(o.config, 'utf8'), o.config);
  for (const d of o.disable.split(',').map((s) => s.trim()).filter(Boolean)) {
    const section = (file as Record<string, { enabled: boolean } | undefined>)[d];
    if (!section) throw new InvalidArgumentError(`--disable: no detector "${d}" in the config (keys: ${Object.keys(file).join(', ')})`);
    section.enabled = false;
  }
  const labelsFile = plan.labelsFile();
  const detectors = detectorsForTraffic(file, labelsFile);
  const t0 = performance.now();
  const report = evaluateDetector(o.ingest ? throughIngest(plan) : plan.records(), plan.labels, { detectors, windowMs: o.windowMs, warmupEnd: plan.options.start + plan.options.warmupMs });
  const elapsed = performance.now() - t0;
  if (o.json) process.stdout.write(JSON.stringify({ options: plan.options, elapsedMs: Math.round(elapsed), ...report }, null, 2) + '\n');
  else print(report, o, elapsed);
  const missed = Object.values(report.classes).some((c) => c.inTime < c.attacks);
  if (missed || report.falsePer100k > o.maxFpPer100k) process.exitCode = 1;
}

main();
