/**
 * eval:nab — score the detector's series engine on the Numenta Anomaly Benchmark.
 *
 *   npx tsx scripts/nab/eval-nab.ts [--nab <root>] [--results <dir>] [--params '{...}']
 *
 * Runs detect-series over <nab>/data, writes <results>/<category>/<detector>_<file>.csv (the layout the
 * scorer reads), then runs the independent scorer `node nabscore.mjs <nab> <results> <detector>` and prints
 * the standard, reward_low_FP_rate and reward_low_FN_rate scores. Shared data is looked up at ../shared
 * beside this checkout (the development layout), then at ./shared and ../../shared (CI layouts), or set
 * VIGIL_SHARED_DIR.
 */
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectSeries, parseParams } from './detect-series.js';

const DETECTOR = 'vigil';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sharedDir(): string {
  const candidates = [process.env.VIGIL_SHARED_DIR, path.join(repoRoot, '../shared'), path.join(repoRoot, 'shared'), path.join(repoRoot, '../../shared')];
  for (const c of candidates) if (c && existsSync(path.join(c, 'tools/nabscore.mjs'))) return c;
  throw new Error(`shared/ (NAB data and tools/nabscore.mjs) not found; looked in ${candidates.filter(Boolean).join(', ')}; set VIGIL_SHARED_DIR`);
}

interface ProfileScore {
  threshold: number | null;
  raw: number;
  normalized: number;
}
interface NabScore {
  detector: string;
  standard: ProfileScore;
  reward_low_FP_rate: ProfileScore;
  reward_low_FN_rate: ProfileScore;
}

const cmd = new Command('eval-nab')
  .option('--nab <root>', 'NAB root (data/, labels/)')
  .option('--results <dir>', 'results directory', path.join(os.tmpdir(), `vigil-nab-${process.pid}`))
  .option('--params <json>', 'detector parameter overrides as JSON')
  .option('--keep', 'keep the results directory')
  .option('--quiet', 'no per-file progress')
  .parse();
const opts = cmd.opts<{ nab?: string; results: string; params?: string; keep?: boolean; quiet?: boolean }>();

const shared = opts.nab ? undefined : sharedDir();
const nabRoot = opts.nab ?? path.join(shared as string, 'datasets/nab');
const scorer = path.join(shared ?? sharedDir(), 'tools/nabscore.mjs');
const params = parseParams(opts.params);

rmSync(opts.results, { recursive: true, force: true });
const t0 = performance.now();
detectSeries({
  inDir: path.join(nabRoot, 'data'),
  outDir: opts.results,
  params,
  outputName: (rel) => path.join(path.dirname(rel), `${DETECTOR}_${path.basename(rel)}`),
  log: opts.quiet ? () => undefined : undefined,
});
const detectMs = performance.now() - t0;
const out = execFileSync(process.execPath, [scorer, nabRoot, opts.results, DETECTOR], { encoding: 'utf8' });
const score = JSON.parse(out) as NabScore;
if (!opts.keep) rmSync(opts.results, { recursive: true, force: true });

const f = (p: ProfileScore): string => `${p.normalized.toFixed(2)} (threshold ${p.threshold ?? '-'})`;
console.log(`NAB ${DETECTOR} params=${JSON.stringify(params)} detect ${(detectMs / 1000).toFixed(1)} s`);
console.log(`  standard           ${f(score.standard)}`);
console.log(`  reward_low_FP_rate ${f(score.reward_low_FP_rate)}`);
console.log(`  reward_low_FN_rate ${f(score.reward_low_FN_rate)}`);
