import { ApiKeysService } from '@vigil/alert/api-keys/api-keys.service';
import type { IncidentStreamEvent } from '@vigil/contracts';
import { processConfig } from '@vigil/platform';
import { TrafficPlan, type AttackLabel, type TrafficFormat } from '@vigil/testing/traffic/index';
import { ApiClient, explainStatus } from './api-client.js';
import { startStandalone } from './boot.js';
import { CliError } from './errors.js';
import { followIncidents } from './live.js';
import { FatalShipError, HttpShipper } from './replay/shippers.js';

export interface DemoOptions {
  /** Attach to a running Vigil instead of booting one in this process. */
  url?: string;
  key?: string;
  /** Event time runs this many times faster than the wall clock. */
  speed: number;
  /** Simulated minutes of traffic (event time). */
  minutes: number;
  /** Normal requests per second of event time (weekly average). */
  rps: number;
  seed: number;
  format: TrafficFormat;
  /** Stop when the replay is done (default: a demo that booted Vigil keeps serving the dashboard). */
  exit: boolean;
}

const MIN = 60_000;
/** Wall-clock time between two POSTs of the replay. */
const TICK_MS = 500;
/**
 * Attacks are placed in at most the last 25 minutes of replayed event time, which ends now. The alert service
 * auto-resolves an incident 30 minutes (event time) after its last anomaly, by the wall clock: anything replayed
 * older than that would show up already resolved (the default 30 minutes keeps all of it, warm-up included, inside).
 */
export const ATTACK_SPAN_MS = 25 * MIN;

/** The demo's plan: `minutes` of event time ending now; warm-up first, the attacks in the last ATTACK_SPAN_MS. */
export function demoPlan(o: Pick<DemoOptions, 'minutes' | 'rps' | 'seed' | 'format'>, tenant: string, now: number): TrafficPlan {
  const durationMs = Math.round(o.minutes * MIN);
  const warmupMs = Math.max(Math.round(durationMs * 0.4), durationMs - ATTACK_SPAN_MS);
  return new TrafficPlan({ seed: o.seed, start: now - durationMs, durationMs, rps: o.rps, format: o.format, tenant, warmupMs });
}

/** The warm-up (no attacks, baselines forming) is replayed this many times faster than the attacks. */
export const WARMUP_SPEEDUP = 10;

/**
 * When to send what: event time `ts` is due at anchorWall + (ts - anchorTs) / speed, with speed × WARMUP_SPEEDUP
 * before `warmupEnd`. When the server cannot keep up (more than a second behind), or when the attacks begin, the
 * schedule is re-anchored at the present instead of bursting to catch up, so the attacks always play at `speed`.
 */
export class DemoPacer {
  private anchorTs: number;
  private anchorWall: number | null = null;
  private inWarmup = true;

  constructor(
    start: number,
    private readonly warmupEnd: number,
    private readonly speed: number,
  ) {
    this.anchorTs = start;
  }

  /** How long to wait (ms, 0 = now) before sending the events up to `ts`, the wall clock being `wallNow`. */
  waitMs(ts: number, wallNow: number): number {
    if (this.anchorWall === null) this.anchorWall = wallNow;
    if (this.inWarmup && ts > this.warmupEnd) {
      // First batch of the attack phase: rebase at the warm-up's end.
      this.inWarmup = false;
      const due = this.anchorWall + (this.warmupEnd - this.anchorTs) / (this.speed * WARMUP_SPEEDUP);
      this.anchorWall = Math.max(due, wallNow);
      this.anchorTs = this.warmupEnd;
    }
    const speed = this.inWarmup ? this.speed * WARMUP_SPEEDUP : this.speed;
    const due = this.anchorWall + (ts - this.anchorTs) / speed;
    if (wallNow - due > 1000) {
      this.anchorWall = wallNow;
      this.anchorTs = ts;
      return 0;
    }
    return Math.max(0, due - wallNow);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmtClock = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

function describeAttack(l: AttackLabel): string {
  return `${l.class.replace(/_/g, ' ')} on ${l.entityType} ${l.entity} (${Math.round((l.end - l.start) / 1000)} s, expect ${l.expectedDetector})`;
}

/**
 * `vigil demo` / `npm run demo`: generated gateway traffic with labelled attacks, replayed in accelerated event time
 * through POST /v1/logs of a Vigil it boots (or of a running one with --url/--key), printing what happens and the
 * incidents as they open on the live stream.
 */
export async function runDemo(o: DemoOptions, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  if (!(o.speed > 0)) throw new CliError('--speed must be a positive number');
  if (!(o.minutes >= 10)) throw new CliError('--minutes must be at least 10 (the detectors learn baselines first)');
  const began = performance.now();
  const elapsed = () => `+${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s`;

  let client: ApiClient;
  let booted = false;
  if (o.url) {
    client = new ApiClient({ url: o.url, key: o.key ?? '' });
    await client.request('GET', '/v1/incidents?limit=1', undefined, 'checking the key');
  } else {
    const config = processConfig();
    const probe = `http://127.0.0.1:${config.http.port}`;
    const already = await fetch(`${probe}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (already) {
      throw new CliError(
        `something already answers on port ${config.http.port} (Vigil?). Replay into it with\n` +
          `  npm run demo -- --url ${probe} --key <admin key>\nor start the demo on another port: PORT=8090 npm run demo`,
      );
    }
    out('Starting Vigil (standalone: in-process bus, SQLite) ...');
    const { running, adminKey } = await startStandalone({ banner: false });
    booted = true;
    let key = adminKey;
    if (!key) {
      const demoKey = await running.app
        .get(ApiKeysService)
        .create('system', running.config.tenant, { name: 'demo', role: 'admin', allowedIps: [], expiresInSeconds: 24 * 3600 });
      key = demoKey.token;
    }
    client = new ApiClient({ url: running.url, key });
    out('');
    out(`  Dashboard  ${running.url}/dashboard/`);
    out(`  API key    ${key}${adminKey ? '   (the admin key of this data dir: shown once, save it)' : '   (a demo admin key, expires in 24 h)'}`);
    out('');
  }

  const plan = demoPlan(o, 'demo', Date.now());
  const { start, end } = plan.options;
  const warmupMs = plan.options.warmupMs;
  const wallSeconds = (warmupMs / (o.speed * WARMUP_SPEEDUP) + (end - start - warmupMs) / o.speed) / 1000;
  out(
    `Replaying ${o.minutes} min of ${o.format} gateway traffic (${fmtClock(start)}–${fmtClock(end)} UTC, ~${o.rps} req/s, seed ${o.seed}): ` +
      `a ${Math.round(warmupMs / MIN)} min warm-up at ${o.speed * WARMUP_SPEEDUP}× while baselines form, then ${plan.labels.length} attacks at ${o.speed}×; ~${Math.round(wallSeconds)} s.`,
  );

  const first: { at: number | null } = { at: null };
  const opened = new Set<string>();
  const live = await followIncidents(client, (type: string, e: IncidentStreamEvent) => {
    if (type !== 'incident.opened' || opened.has(e.incident.id)) return;
    opened.add(e.incident.id);
    first.at ??= (performance.now() - began) / 1000;
    out(`${elapsed()}  ⚠ incident [${e.incident.severity}] ${e.incident.title}`);
  }).catch((err: unknown) => {
    out(`(live stream unavailable: ${err instanceof Error ? err.message : String(err)}; incidents still open, see the dashboard)`);
    return null;
  });

  const shipper = new HttpShipper({ url: client.url, key: client.token, format: o.format, maxAttempts: 30 });
  const stats = { records: 0, accepted: 0, rejected: 0 };
  const ship = async (lines: string[]) => {
    if (lines.length === 0) return;
    try {
      const r = await shipper.ship(lines);
      stats.records += lines.length;
      stats.accepted += r.accepted;
      stats.rejected += r.rejected;
    } catch (err) {
      if (err instanceof FatalShipError) throw new CliError(explainStatus(err.status, err.serverMessage, 'shipping logs to POST /v1/logs'));
      throw err;
    }
  };
  const pace = new DemoPacer(start, start + plan.options.warmupMs, o.speed);
  const tickEvent = TICK_MS * o.speed;
  const announced = new Set<string>();
  let batch: string[] = [];
  let batchEnd = start + tickEvent;
  let lastReport = performance.now();
  const report = (eventNow: number) => {
    const secs = (performance.now() - began) / 1000;
    out(`${elapsed()}  event time ${fmtClock(eventNow)} · ${fmtInt(stats.accepted)} records (${fmtInt(stats.records / Math.max(secs, 0.001))}/s) · ${opened.size} incidents`);
  };
  const flushUntil = async (eventEnd: number) => {
    const wait = pace.waitMs(eventEnd, performance.now());
    if (wait > 0) await sleep(wait);
    const lines = batch;
    batch = [];
    await ship(lines);
    if (performance.now() - lastReport >= 5000) {
      lastReport = performance.now();
      report(Math.min(eventEnd, end));
    }
  };

  for (const r of plan.records()) {
    if (r.event.ts >= batchEnd) {
      await flushUntil(batchEnd);
      while (r.event.ts >= batchEnd) batchEnd += tickEvent;
    }
    if (r.label && !announced.has(r.label.id)) {
      announced.add(r.label.id);
      out(`${elapsed()}  → attack: ${describeAttack(r.label)}`);
    }
    batch.push(r.raw);
  }
  await flushUntil(Math.min(batchEnd, end));
  report(end);

  out('');
  out(
    `Replay done: ${fmtInt(stats.accepted)} records accepted, ${fmtInt(stats.rejected)} rejected, ${opened.size} incidents opened` +
      (first.at !== null ? ` (the first ${first.at.toFixed(0)} s after the demo started).` : '.'),
  );
  if (booted && !o.exit) {
    out(`Vigil keeps running: open ${client.url}/dashboard/ and sign in with the key above. Ctrl-C stops it.`);
    return;
  }
  live?.close();
  if (booted) process.kill(process.pid, 'SIGTERM');
}
