import { Prng } from './prng.js';
import { buildPopulation, type Population } from './population.js';
import { DEPRECATED_VERSIONS, planAttacks, type ActiveAttack } from './attacks.js';
import { rateFactor } from './diurnal.js';
import { renderRecord, requestIdFor } from './render.js';
import { TrafficModel, type RequestSpec } from './traffic-model.js';
import {
  ATTACK_CLASSES, TRAFFIC_FORMATS, type AttackClass, type AttackLabel, type GeneratedRecord, type LabelsFile, type ResolvedTrafficOptions,
  type TrafficOptions,
} from './types.js';

export const DEFAULT_TRAFFIC_START = Date.UTC(2024, 4, 14, 8, 0, 0);

/** Fill in defaults and check the options; throws with a message naming the bad option. */
export function resolveTrafficOptions(o: TrafficOptions = {}): ResolvedTrafficOptions {
  const seed = o.seed ?? 42;
  const start = o.start ?? DEFAULT_TRAFFIC_START;
  const durationMs = o.durationMs ?? 2 * 3_600_000;
  const rps = o.rps ?? 200;
  const format = o.format ?? 'kong';
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(what);
  };
  check(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  check(Number.isInteger(start) && start >= 0, `start must be epoch milliseconds, got ${start}`);
  check(Number.isFinite(durationMs) && durationMs >= 1000, `duration must be at least 1 s, got ${durationMs} ms`);
  check(Number.isFinite(rps) && rps >= 0, `rps must be a non-negative number, got ${rps}`);
  check((TRAFFIC_FORMATS as readonly string[]).includes(format), `format must be one of ${TRAFFIC_FORMATS.join(', ')}, got ${format}`);
  const attacks: readonly AttackClass[] = o.attacks === undefined || o.attacks === 'all' ? ATTACK_CLASSES : o.attacks === 'none' ? [] : o.attacks;
  for (const a of attacks) check((ATTACK_CLASSES as readonly string[]).includes(a), `unknown attack class ${a} (known: ${ATTACK_CLASSES.join(', ')})`);
  const ipCount = o.ipCount ?? 4000;
  const tokenCount = o.tokenCount ?? 300;
  check(Number.isInteger(ipCount) && ipCount >= 10, `ipCount must be an integer >= 10, got ${ipCount}`);
  check(Number.isInteger(tokenCount) && tokenCount >= 1 && tokenCount < ipCount, `tokenCount must be an integer from 1 to ipCount - 1, got ${tokenCount}`);
  const d = Math.round(durationMs);
  return {
    seed,
    start,
    durationMs: d,
    end: start + d,
    rps,
    attacks: [...new Set(attacks)],
    format,
    tenant: o.tenant ?? 'acme',
    ipCount,
    tokenCount,
    diurnal: o.diurnal ?? true,
    utcOffsetHours: o.utcOffsetHours ?? 0,
    warmupMs: o.warmupMs ?? Math.min(30 * 60_000, Math.round(d * 0.25)),
    host: o.host ?? 'api.acme-exchange.example',
  };
}

/**
 * A planned run: the population, the attack schedule (labels) and the options, before any request is generated.
 * `records()` streams the requests in event-time order; it can be called again and yields the same records.
 */
export class TrafficPlan {
  readonly options: ResolvedTrafficOptions;
  readonly population: Population;
  readonly labels: AttackLabel[];

  constructor(options: TrafficOptions = {}) {
    this.options = resolveTrafficOptions(options);
    this.population = buildPopulation(this.options.seed, this.options.ipCount, this.options.tokenCount);
    this.labels = this.freshRun().attacks.map((a) => a.label);
  }

  /** The labels file (JSON-serialisable). */
  labelsFile(counts?: LabelsFile['counts']): LabelsFile {
    const allowlists: Record<string, string[]> = {};
    for (const t of this.population.tokens) if (t.allowlist) allowlists[t.id] = t.allowlist;
    return {
      generator: 'vigil-traffic',
      version: 1,
      options: this.options,
      labels: this.labels,
      allowlists,
      deprecatedVersions: DEPRECATED_VERSIONS,
      ...(counts ? { counts } : {}),
    };
  }

  /** Every request of the run, in event-time order (ties keep generation order). */
  *records(): Generator<GeneratedRecord, void, undefined> {
    const o = this.options;
    const { model, attacks } = this.freshRun();
    const labels = new Map(attacks.map((a) => [a.label.id, a.label]));
    // Attacks share label objects with this.labels, so consumers can compare by identity or by id.
    for (const l of this.labels) labels.set(l.id, l);
    const normalRng = Prng.derive(o.seed, 'normal');
    const idRng = Prng.derive(o.seed, 'ids');
    const batch: { spec: RequestSpec; label: AttackLabel | undefined }[] = [];
    const scratch: RequestSpec[] = [];
    let seq = 0;
    for (let sec = o.start; sec < o.end; sec += 1000) {
      const to = Math.min(sec + 1000, o.end);
      const span = to - sec;
      const factor = o.diurnal ? rateFactor(sec + span / 2, o.utcOffsetHours) : 1;
      const active = attacks.filter((a) => a.label.start < to && a.label.end > sec);
      const n = normalRng.poisson((o.rps * factor * span) / 1000);
      batch.length = 0;
      for (let i = 0; i < n; i++) {
        const spec = model.normal(normalRng, sec + Math.floor(normalRng.next() * span));
        let label: AttackLabel | undefined;
        for (const a of active) {
          if (a.modify && spec.ts >= a.label.start && spec.ts < a.label.end && a.modify(spec)) {
            label = labels.get(a.label.id);
            break;
          }
        }
        batch.push({ spec, label });
      }
      for (const a of active) {
        if (!a.emit) continue;
        scratch.length = 0;
        a.emit(Math.max(sec, a.label.start), Math.min(to, a.label.end), scratch);
        const label = labels.get(a.label.id);
        for (const spec of scratch) batch.push({ spec, label });
      }
      batch.sort((x, y) => x.spec.ts - y.spec.ts);
      for (const { spec, label } of batch) {
        const event = model.toEvent(spec);
        seq++;
        event.id = `g${o.seed}-${seq}`;
        event.requestId = requestIdFor(o.format, idRng.hex(32));
        const raw = renderRecord(o.format, event, {
          port: 1024 + (idRng.u32() % 64_000),
          upstream: `10.20.${1 + (seq % 3)}.${11 + (seq % 7)}`,
          consumerUuid: tokenUuid(event.tokenId),
        });
        yield label ? { raw, event, label } : { raw, event };
      }
    }
  }

  /** The same model and attack runtimes every time (attack state such as scan positions starts over). */
  private freshRun(): { model: TrafficModel; attacks: ActiveAttack[] } {
    const model = new TrafficModel(this.options, this.population);
    const attacks = planAttacks(model, this.options.attacks);
    return { model, attacks };
  }
}

const uuidCache = new Map<string, string>();
/** A stable consumer uuid per token id (Kong logs one). */
function tokenUuid(tokenId: string): string {
  if (tokenId === '') return '';
  let u = uuidCache.get(tokenId);
  if (u === undefined) {
    u = Prng.derive(0, tokenId).uuid();
    if (uuidCache.size > 100_000) uuidCache.clear();
    uuidCache.set(tokenId, u);
  }
  return u;
}

/** Stream a run's records in event-time order: `for (const r of generateTraffic({ seed: 1, rps: 50 })) …`. */
export function generateTraffic(options: TrafficOptions = {}): Generator<GeneratedRecord, void, undefined> {
  return new TrafficPlan(options).records();
}

/**
 * The same stream as an async iterable that yields to the event loop every `chunk` records, for feeding a
 * live pipeline from inside a test without starving its consumers.
 */
export async function* trafficStream(options: TrafficOptions = {}, chunk = 5_000): AsyncGenerator<GeneratedRecord, void, undefined> {
  let i = 0;
  for (const r of generateTraffic(options)) {
    yield r;
    if (++i % chunk === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
