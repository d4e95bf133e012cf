/**
 * Load drill: a sustained flood of 10× normal traffic for 60 s through HTTP ingest of the distributed deployment.
 *
 *   npx tsx scripts/bench/flood.ts [--normal-rps 200] [--factor 10] [--flood-s 60] [--before-s 20] [--after-s 90]
 *                                  [--instances 2] [--max-pending 5000]
 *
 * Needs `npx tsc -b` and VIGIL_TEST_CLICKHOUSE_URL / VIGIL_TEST_REDIS_URL / VIGIL_TEST_KAFKA_BROKERS.
 * Boots ingest, detector and alert (`--instances` each), ships generated Kong traffic to POST /v1/logs of the ingest
 * instances (round robin, one request per 250 ms per instance) at the normal rate, then `--factor` times it for
 * `--flood-s`, then the normal rate again. Every second it samples /metrics of every instance
 * (`vigil_consumer_lag`, summed over partitions, and `process_resident_memory_bytes`), and counts 200s and 429s.
 * Writes artifacts/flood.csv and artifacts/flood.svg (lag and RSS over time, the flood shaded) and prints: peak RSS per
 * instance before / during / after, the 429s, the peak lag and how long after the flood it took to return to zero.
 * VIGIL_INGEST_MAX_PENDING_EVENTS is lowered to --max-pending so the shedding threshold is reachable on a small machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { TrafficPlan } from '@vigil/testing/traffic/index';
import { Cluster, type ClusterApp } from '../../test/e2e/helpers/cluster.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const NORMAL = Number(args.get('normal-rps') ?? 200);
const FACTOR = Number(args.get('factor') ?? 10);
const FLOOD_S = Number(args.get('flood-s') ?? 60);
const BEFORE_S = Number(args.get('before-s') ?? 20);
const AFTER_S = Number(args.get('after-s') ?? 90);
const INSTANCES = Number(args.get('instances') ?? 2);
const MAX_PENDING = args.get('max-pending') ?? '5000';
const TICK_MS = 250;

interface Sample {
  t: number;
  phase: 'before' | 'flood' | 'after';
  offeredRps: number;
  accepted: number;
  shed: number;
  lag: Record<ClusterApp, number>;
  rss: { who: string; mb: number }[];
}

async function main(): Promise<void> {
  process.stdout.write(`flood: ${NORMAL} req/s normal, ×${FACTOR} for ${FLOOD_S} s; ${INSTANCES}×${INSTANCES}×${INSTANCES} instances; ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  const total = BEFORE_S + FLOOD_S + AFTER_S;
  // Enough records for the whole run at the flood rate, event time ending now.
  const plan = new TrafficPlan({ seed: 3, start: Date.now() - total * 1000 * FACTOR, durationMs: total * 1000 * FACTOR, rps: NORMAL, attacks: 'none', diurnal: false, format: 'kong', tokenCount: 40, ipCount: 400 });
  const records = plan.records();
  const take = (n: number): string[] => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = records.next();
      if (r.done) break;
      out.push(r.value.raw);
    }
    return out;
  };

  const cluster = await Cluster.start({
    label: 'flood',
    instances: { ingest: INSTANCES, detector: INSTANCES, alert: INSTANCES },
    env: { VIGIL_INGEST_MAX_PENDING_EVENTS: MAX_PENDING, VIGIL_RATE_LIMIT_PER_MINUTE: '1000000', VIGIL_DETECTOR_LATENESS_MS: '60000' },
  });
  const samples: Sample[] = [];
  let accepted = 0;
  let shed = 0;
  let errors = 0;
  const began = Date.now();
  const phase = (): Sample['phase'] => {
    const s = (Date.now() - began) / 1000;
    return s < BEFORE_S ? 'before' : s < BEFORE_S + FLOOD_S ? 'flood' : 'after';
  };
  const rate = () => (phase() === 'flood' ? NORMAL * FACTOR : NORMAL);

  const sampler = setInterval(() => {
    void (async () => {
      const lag: Record<ClusterApp, number> = { ingest: 0, detector: 0, alert: 0 };
      const rss: Sample['rss'] = [];
      await Promise.all(
        cluster.all().map(async (p) => {
          try {
            const m = await Cluster.sample(p);
            lag[p.app as ClusterApp] += m.lag;
            rss.push({ who: `${p.app}:${p.pid}`, mb: m.rssBytes / 2 ** 20 });
          } catch {
            // an instance too busy to answer within the tick is left out of that second
          }
        }),
      );
      rss.sort((a, b) => a.who.localeCompare(b.who));
      samples.push({ t: (Date.now() - began) / 1000, phase: phase(), offeredRps: rate(), accepted, shed, lag, rss });
    })();
  }, 1000);

  // Shippers: one per ingest instance, a POST every TICK_MS carrying its share of the current rate.
  const inflight = new Set<Promise<void>>();
  const ingest = cluster.instances('ingest');
  let tick = 0;
  while (Date.now() - began < total * 1000) {
    const due = began + tick * TICK_MS;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    tick++;
    const perInstance = Math.round((rate() * TICK_MS) / 1000 / ingest.length);
    for (const p of ingest) {
      const lines = take(perInstance);
      if (!lines.length) continue;
      const req = fetch(`${p.url}/v1/logs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.tokens.shipper}`, 'content-type': 'application/x-ndjson' },
        body: lines.join('\n') + '\n',
        signal: AbortSignal.timeout(30_000),
      }).then(
        async (res) => {
          await res.text();
          if (res.status === 200) accepted += lines.length;
          else if (res.status === 429) shed += lines.length;
          else errors += 1;
        },
        () => void (errors += 1),
      );
      inflight.add(req);
      void req.finally(() => inflight.delete(req));
    }
    // Never more than 64 requests outstanding: a client that queues without limit measures itself, not the server.
    while (inflight.size > 64) await Promise.race(inflight);
  }
  await Promise.allSettled(inflight);
  // Keep sampling until every consumer has caught up (or 120 s more).
  const floodEnd = BEFORE_S + FLOOD_S;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const last = samples[samples.length - 1];
    if (last && last.t > total && last.lag.ingest + last.lag.detector + last.lag.alert === 0) break;
  }
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 1100));
  const stored = await cluster.eventCounts();
  await cluster.stop();

  mkdirSync('artifacts', { recursive: true });
  const whos = [...new Set(samples.flatMap((s) => s.rss.map((r) => r.who)))];
  const csv = [
    ['t_s', 'phase', 'offered_rps', 'accepted_total', 'shed_total', 'lag_ingest', 'lag_detector', 'lag_alert', ...whos.map((w) => `rss_mb_${w}`)].join(','),
    ...samples.map((s) => [s.t.toFixed(1), s.phase, s.offeredRps, s.accepted, s.shed, s.lag.ingest, s.lag.detector, s.lag.alert, ...whos.map((w) => s.rss.find((r) => r.who === w)?.mb.toFixed(1) ?? '')].join(',')),
  ].join('\n');
  writeFileSync('artifacts/flood.csv', csv + '\n');
  writeFileSync('artifacts/flood.svg', plot(samples, whos, BEFORE_S, floodEnd));

  const peak = (who: string, ph: Sample['phase']) => Math.max(0, ...samples.filter((s) => s.phase === ph).map((s) => s.rss.find((r) => r.who === who)?.mb ?? 0));
  const lagOf = (s: Sample) => s.lag.ingest + s.lag.detector + s.lag.alert;
  const peakLag = Math.max(0, ...samples.map(lagOf));
  const recovered = samples.find((s) => s.t > floodEnd && lagOf(s) === 0 && samples.filter((x) => x.t >= s.t).every((x) => lagOf(x) === 0));
  const out = [
    `offered ${(accepted + shed).toLocaleString('en-US')} records: ${accepted.toLocaleString('en-US')} accepted (200), ${shed.toLocaleString('en-US')} shed (429), ${errors} other failures`,
    `stored in ClickHouse: ${stored.ids.toLocaleString('en-US')} distinct events (accepted ${accepted.toLocaleString('en-US')})`,
    `peak consumer lag (all services): ${peakLag.toLocaleString('en-US')}; back to 0 ${recovered ? `${(recovered.t - floodEnd).toFixed(0)} s after the flood ended` : 'NOT within the sampling period'}`,
    'peak RSS MiB (before / flood / after):',
    ...whos.map((w) => `  ${w.padEnd(16)} ${peak(w, 'before').toFixed(0)} / ${peak(w, 'flood').toFixed(0)} / ${peak(w, 'after').toFixed(0)}`),
    'wrote artifacts/flood.csv and artifacts/flood.svg',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/** Two stacked panels (consumer lag per service, RSS per instance) over time, the flood shaded. Plain SVG. */
function plot(samples: Sample[], whos: string[], floodFrom: number, floodTo: number): string {
  const W = 900;
  const H = 260;
  const M = { l: 70, r: 170, t: 30, b: 30 };
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
  const panel = (y0: number, title: string, series: { name: string; points: [number, number][] }[]): string => {
    const vMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
    const x = (t: number) => M.l + (t / tMax) * (W - M.l - M.r);
    const y = (v: number) => y0 + M.t + (1 - v / vMax) * (H - M.t - M.b);
    const parts = [
      `<rect x="${x(floodFrom)}" y="${y0 + M.t}" width="${x(floodTo) - x(floodFrom)}" height="${H - M.t - M.b}" fill="#fde0dd"/>`,
      `<text x="${M.l}" y="${y0 + 18}" font-size="14" font-weight="bold">${title}</text>`,
      `<line x1="${M.l}" y1="${y(0)}" x2="${W - M.r}" y2="${y(0)}" stroke="#444"/>`,
      `<line x1="${M.l}" y1="${y0 + M.t}" x2="${M.l}" y2="${y(0)}" stroke="#444"/>`,
      `<text x="${M.l - 6}" y="${y(vMax) + 4}" font-size="11" text-anchor="end">${Math.round(vMax).toLocaleString('en-US')}</text>`,
      `<text x="${M.l - 6}" y="${y(0) + 4}" font-size="11" text-anchor="end">0</text>`,
      `<text x="${W - M.r}" y="${y(0) + 16}" font-size="11" text-anchor="end">${tMax.toFixed(0)} s</text>`,
    ];
    series.forEach((s, i) => {
      const d = s.points.map(([t, v], j) => `${j ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5"/>`);
      parts.push(`<text x="${W - M.r + 8}" y="${y0 + M.t + 14 * (i + 1)}" font-size="11" fill="${colors[i % colors.length]}">${s.name}</text>`);
    });
    return parts.join('\n');
  };
  const lag = (['ingest', 'detector', 'alert'] as const).map((a) => ({ name: `lag ${a}`, points: samples.map((s) => [s.t, s.lag[a]] as [number, number]) }));
  const rss = whos.map((w) => ({ name: `RSS ${w}`, points: samples.flatMap((s) => { const r = s.rss.find((x) => x.who === w); return r ? [[s.t, r.mb] as [number, number]] : []; }) }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'vigil_consumer_lag (messages, summed per service); flood shaded', lag)}
${panel(H, 'process_resident_memory_bytes (MiB per instance)', rss)}
</svg>
`;
}

await main();
process.exit(0);
