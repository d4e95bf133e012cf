/**
 * detect:series — run the detector's series engine over every `timestamp,value` CSV under --in and write
 * each file to the same relative path under --out with an added `anomaly_score` column in [0, 1].
 *
 *   npx tsx scripts/nab/detect-series.ts --in <dir> --out <dir> [--params '{"historySize":512}']
 *
 * Learning period per file follows the NAB convention: 15 % of the rows, at most 750; the rest period after
 * a detection is a fifth of that. Nothing else differs between files.
 */
import { Command } from 'commander';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SeriesDetector, type SeriesDetectorOptions } from '../../apps/detector/src/detection/series-detector.js';

/** Detector options plus restFraction: the rest period as a fraction of the learning period. */
export type SeriesParams = Partial<SeriesDetectorOptions> & { restFraction?: number };
const REST_FRACTION = 0.2;

export interface DetectSeriesOptions {
  inDir: string;
  outDir: string;
  params?: SeriesParams;
  /** Output path (relative) for an input path (relative); identity by default. */
  outputName?: (relative: string) => string;
  probationFraction?: number;
  probationMax?: number;
  log?: (line: string) => void;
}

export interface FileResult {
  file: string;
  rows: number;
  maxScore: number;
  ms: number;
}

function listCsv(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listCsv(full, base));
    else if (name.endsWith('.csv')) out.push(path.relative(base, full));
  }
  return out;
}

/** "2014-03-07 03:41:00" (UTC, as NAB writes it) or any ISO-8601 form; NaN when unparseable. */
function parseTimestamp(s: string): number {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s.replace(' ', 'T') : `${s.replace(' ', 'T')}Z`);
}

/** Scores one CSV's text; returns the CSV with the added column. */
export function scoreCsv(text: string, params: SeriesParams, probationFraction = 0.15, probationMax = 750): { csv: string; rows: number; maxScore: number } {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0];
  if (header === undefined) throw new Error('empty file');
  const cols = header.split(',');
  const valueCol = cols.indexOf('value');
  if (valueCol < 0) throw new Error(`no "value" column in header "${header}"`);
  const timeCol = cols.indexOf('timestamp');
  const rows = lines.length - 1;
  const probation = Math.min(Math.floor(probationFraction * rows), probationMax);
  const { restFraction = REST_FRACTION, ...detectorParams } = params;
  const detector = new SeriesDetector({ probation, restPeriod: Math.max(1, Math.round(probation * restFraction)), ...detectorParams });
  const out: string[] = [`${header},anomaly_score`];
  let maxScore = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const fields = line.split(',');
    const value = Number(fields[valueCol]);
    if (!Number.isFinite(value)) throw new Error(`row ${i + 1}: value is not a number`);
    const score = detector.next(value, timeCol < 0 ? NaN : parseTimestamp(fields[timeCol] ?? ''));
    if (score > maxScore) maxScore = score;
    out.push(`${line},${score.toFixed(6)}`);
  }
  return { csv: out.join('\n') + '\n', rows, maxScore };
}

export function detectSeries(o: DetectSeriesOptions): FileResult[] {
  const files = listCsv(o.inDir);
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const results: FileResult[] = [];
  files.forEach((rel, k) => {
    const t0 = performance.now();
    const { csv, rows, maxScore } = scoreCsv(readFileSync(path.join(o.inDir, rel), 'utf8'), o.params ?? {}, o.probationFraction, o.probationMax);
    const target = path.join(o.outDir, o.outputName ? o.outputName(rel) : rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, csv);
    const ms = performance.now() - t0;
    results.push({ file: rel, rows, maxScore, ms });
    log(`[${k + 1}/${files.length}] ${rel}: ${rows} rows, max score ${maxScore.toFixed(3)}, ${ms.toFixed(0)} ms`);
  });
  return results;
}

export function parseParams(json: string | undefined): SeriesParams {
  if (!json) return {};
  const v: unknown = JSON.parse(json);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('--params must be a JSON object');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'number') throw new Error(`--params.${k} must be a number`);
  return v as SeriesParams;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = new Command('detect-series')
    .requiredOption('--in <dir>', 'directory of timestamp,value CSV files (searched recursively)')
    .requiredOption('--out <dir>', 'output directory (same relative paths)')
    .option('--params <json>', 'detector parameter overrides as JSON')
    .parse();
  const opts = cmd.opts<{ in: string; out: string; params?: string }>();
  const results = detectSeries({ inDir: opts.in, outDir: opts.out, params: parseParams(opts.params) });
  const rows = results.reduce((a, r) => a + r.rows, 0);
  const ms = results.reduce((a, r) => a + r.ms, 0);
  process.stderr.write(`${results.length} files, ${rows} rows in ${(ms / 1000).toFixed(1)} s\n`);
}
