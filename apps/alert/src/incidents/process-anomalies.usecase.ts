import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import type { Anomaly, Incident, Silence } from '@vigil/contracts';
import { LOGGER, MetricsService, STORE, type Store } from '@vigil/platform';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { Counter, Histogram } from 'prom-client';
import { outboxEntries, outboxKey, StreamPublisher, type EventStamp, type LiveAnomaly, type PendingNotification } from '../gateway/stream-publisher.js';
import { SilenceCache } from '../silences/silence-cache.js';
import { silencing } from '../silences/silence-matcher.js';
import { applyAnomaly, chooseIncident, incidentEntities, type EntityRef, type IncidentEvent, type IncidentPolicy } from './incident-grouper.js';
import { INCIDENT_POLICY } from './incident-policy.js';

export interface ProcessedBatch {
  /** Incidents written (opened or changed). */
  incidents: number;
  silenced: number;
  duplicates: number;
  events: IncidentEvent[];
}

const CANDIDATES = 20;
/** Batches at most whose webhook publish runs after their release (see ProcessAnomalies). */
const MAX_TAILS = 64;

/**
 * Anomalies → incidents. The anomalies are in the store already (the detector stores each one before it publishes
 * it); silenced ones stop here. The others are grouped with the incidents of their primary entity read from the store
 * (the source of truth shared by every instance), upserted (the higher revision wins), then logged and broadcast as
 * live events and published for webhooks. Safe to re-run on the same batch: duplicates change nothing and notify
 * nobody new.
 *
 * No notification is lost to a failure between the incident write and the sending (transactional outbox): every
 * live event is recorded in the store's outbox, keyed by the batch entity, BEFORE the incident change it announces
 * is written, and settled once sent. A redelivered batch reads the pending notifications of its entities: those
 * whose change is durable (the stored incident reached their revision) are sent now; the others are prepared again
 * under the same event ids (or cancelled when the batch no longer makes that change).
 *
 * A batch costs three rounds of store calls before anything is sent, whatever its size: (1) the silences (from the
 * SilenceCache, which reads a tenant's silences again only after a change or its TTL), the incidents and the pending
 * notifications of every primary entity, all at once; grouping in memory; (2) the outbox
 * record; (3) the latest version of each changed incident and one live-event append, at once. Only then are events
 * broadcast (a client that hears of an anomaly or an incident can read it back and resume from it), then published
 * for webhooks, and the outbox entries settled: their done marks are written with those of the other batches of the
 * next second (StreamPublisher.settleLater, OutboxSettler), and meanwhile this process leaves them out of the
 * pending entries it reads. On ClickHouse each insert is a new part and its merges, the server's largest cost per
 * batch, so a batch makes two inserts of its own (outbox record; incidents and live-event log at once) plus a share of
 * one.
 *
 * `execute` resolves once the batch's events are broadcast: from there on the outbox holds every notification until
 * it is settled, so the caller (the bus consumer) can commit and take its next batch while the webhook publish
 * finishes in the background (it was most of a batch's time on Kafka, and the next batch of the partition waited for
 * it). The batch keeps its entities locked until then, so a later batch about the same entity still starts after it
 * (webhook messages stay in order). If that tail fails, its notifications stay pending in the outbox and the
 * OutboxRelay sends them (the broadcast again under the same event ids, and the publish) once their grace period is
 * over, as it does after a crash. At most MAX_TAILS batches are in that state at once (then `execute` waits for one);
 * shutdown waits for them.
 */
@Injectable()
export class ProcessAnomalies implements OnModuleDestroy {
  private readonly log: Logger;
  private readonly counted: Counter<'outcome'>;
  private readonly staged: Histogram<'stage'>;
  private readonly entityLocks = new KeyedSequencer();
  /** Batches whose events are out and whose webhook publish still runs. */
  private readonly tails = new Set<Promise<void>>();

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(INCIDENT_POLICY) private readonly policy: IncidentPolicy,
    private readonly publisher: StreamPublisher,
    @Inject(LOGGER) logger: Logger,
    metrics: MetricsService,
    /** Without it (a test wiring the class by hand), every batch reads the silences from the store. */
    @Optional() private readonly silenceCache?: SilenceCache,
  ) {
    this.log = logger.child({ component: 'process-anomalies' });
    this.counted = metrics.counter({ name: 'vigil_alert_anomalies_total', help: 'Anomalies processed, by outcome', labelNames: ['outcome'] });
    this.staged = metrics.histogram({
      name: 'vigil_alert_batch_stage_seconds',
      help: 'Time an anomaly batch spends in each stage: wait (entity lock), read, outbox, write, emit (socket broadcast; the batch is released here), then publish (webhooks)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
  }

  async execute(batch: readonly Anomaly[]): Promise<ProcessedBatch> {
    const anomalies = [...batch].sort((a, b) => a.detectedAt - b.detectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (!anomalies.length) return { incidents: 0, silenced: 0, duplicates: 0, events: [] };
    const entities = new Map<string, { tenant: string; primary: EntityRef }>();
    for (const a of anomalies) {
      const { primary } = incidentEntities(a);
      entities.set(entityKey(a.tenant, primary), { tenant: a.tenant, primary });
    }
    // Batches of different partitions may run at once (a token's incident takes token and token×IP anomalies, which
    // are keyed apart): the batches that share an entity run one after another, so none reads an incident another
    // is about to change.
    while (this.tails.size >= MAX_TAILS) await Promise.race(this.tails);
    const timer = new StageTimer();
    return new Promise<ProcessedBatch>((resolve, reject) => {
      let released = false;
      const release = (out: ProcessedBatch): void => {
        released = true;
        resolve(out);
      };
      const run = this.entityLocks.run([...entities.keys()], () => {
        timer.lap('wait');
        return this.process(anomalies, entities, timer, release);
      });
      const tail: Promise<void> = run.then(
        (out) => {
          if (!released) release(out);
        },
        (err: unknown) => {
          if (!released) return reject(err);
          this.log.warn({ err }, 'webhook publish failed after the broadcast; the outbox relay sends what is left pending');
        },
      ).finally(() => this.tails.delete(tail));
      this.tails.add(tail);
    });
  }

  /** Let the batches whose events are out finish their webhook publish. */
  async onModuleDestroy(): Promise<void> {
    while (this.tails.size) await Promise.allSettled([...this.tails]);
  }

  /** `release` is called with the outcome once the events are broadcast (or not at all when there were none to send). */
  private async process(
    anomalies: Anomaly[],
    entities: ReadonlyMap<string, { tenant: string; primary: EntityRef }>,
    timer: StageTimer,
    release: (out: ProcessedBatch) => void,
  ): Promise<ProcessedBatch> {
    const keys = [...entities.values()].map(({ tenant, primary }) => outboxKey(tenant, primary.type, primary.value));
    // The anomalies themselves are in the store already: the detector stores each one before publishing it.
    const [silences, byEntity, pendingEntries] = await Promise.all([
      this.silencesFor(anomalies),
      this.candidatesFor(entities),
      this.store.outbox.pending({ keys }),
    ]);
    timer.lap('read');
    const { notifications, malformed } = this.publisher.pendingFrom(pendingEntries);
    const { durable, undone } = splitPending(notifications, byEntity);

    const live: LiveAnomaly[] = [];
    const events: IncidentEvent[] = [];
    /** The latest version of every incident the batch changed, in first-change order. */
    const changed = new Map<string, Incident>();
    let silenced = 0;
    let duplicates = 0;
    for (const a of anomalies) {
      if (silencing(silences.get(a.tenant) ?? [], a)) {
        silenced += 1;
        this.counted.inc({ outcome: 'silenced' });
        continue;
      }
      const key = entityKey(a.tenant, incidentEntities(a).primary);
      const candidates = byEntity.get(key) ?? [];
      const out = applyAnomaly(chooseIncident(candidates, a, this.policy), a, this.policy);
      if (!out.incident) {
        duplicates += 1;
        this.counted.inc({ outcome: 'duplicate' });
        continue;
      }
      const next = out.incident;
      live.push({ anomaly: a, incident: next });
      changed.set(next.id, next);
      byEntity.set(key, [next, ...candidates.filter((i) => i.id !== next.id)]);
      events.push(...out.events);
      this.counted.inc({ outcome: 'grouped' });
    }
    const reuse = new Map<string, EventStamp>(undone.map((n) => [n.outgoing.outbox.id, { eventId: n.outgoing.payload.eventId, at: n.outgoing.payload.at }]));
    const fresh = this.publisher.prepare(live, events, reuse);
    const prepared = new Set(outboxEntries(fresh).map((e) => e.id));
    // Announced a change an earlier attempt never stored, and this one does not make: nothing to send, ever.
    const cancelled = [...undone.filter((n) => !prepared.has(n.outgoing.outbox.id)).map((n) => n.outgoing.outbox), ...malformed];
    if (durable.length) this.log.warn({ notifications: durable.length }, 'sending notifications left pending by an earlier attempt');

    await this.publisher.recorded(fresh);
    timer.lap('outbox');
    const stream = StreamPublisher.merge(StreamPublisher.of(durable), fresh);
    await Promise.all([
      this.store.incidents.upsertMany([...changed.values()]),
      this.publisher.logged(stream),
    ]);
    timer.lap('write');
    this.publisher.broadcast(stream);
    timer.lap('emit');
    const out: ProcessedBatch = { incidents: changed.size, silenced, duplicates, events };
    // Everything a client can be told is stored, and every notification is in the outbox until settled: the caller
    // may commit the batch now.
    release(out);
    try {
      await this.publisher.published(stream);
      timer.lap('publish');
      this.publisher.settleLater(stream, cancelled);
    } finally {
      for (const [stage, ms] of timer.laps) this.staged.observe({ stage }, ms / 1000);
      if (silenced || events.length || durable.length) {
        // At debug level, the stage timings of every batch that said something (LOG_LEVEL=debug; bench:alert --trace).
        this.log.debug({ anomalies: anomalies.length, silenced, duplicates, events: events.length, resent: durable.length, ms: Object.fromEntries(timer.laps) }, 'anomalies processed');
      }
    }
    return out;
  }

  /** The most recent incidents of each primary entity: one read per tenant of the batch, all at once. */
  private async candidatesFor(entities: ReadonlyMap<string, { tenant: string; primary: EntityRef }>): Promise<Map<string, Incident[]>> {
    const byTenant = new Map<string, EntityRef[]>();
    for (const { tenant, primary } of entities.values()) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), primary]);
    const out = new Map<string, Incident[]>([...entities.keys()].map((k) => [k, []]));
    await Promise.all(
      [...byTenant].map(async ([tenant, refs]) => {
        const recent = await this.store.incidents.recentOf({ tenant, entities: refs.map((r) => ({ type: r.type, value: r.value })), limit: CANDIDATES });
        for (const i of recent) out.get(entityKey(i.tenant, { type: i.entityType, value: i.entity }))?.push(i);
      }),
    );
    return out;
  }

  /** Silences of each tenant in the batch that are in force at some point of the batch's event-time range (SilenceCache). */
  private async silencesFor(anomalies: readonly Anomaly[]): Promise<Map<string, Silence[]>> {
    const out = new Map<string, Silence[]>();
    if (!anomalies.length) return out;
    const earliest = Math.min(...anomalies.map((a) => a.detectedAt));
    await Promise.all(
      [...new Set(anomalies.map((a) => a.tenant))].map(async (tenant) => {
        out.set(tenant, await (this.silenceCache ? this.silenceCache.list(tenant, earliest) : this.store.silences.list({ tenant, endsAfter: earliest })));
      }),
    );
    return out;
  }
}

/**
 * Pending notifications of a batch's entities (read with `byEntity`, before the batch changes anything): `durable`
 * when the stored incident has reached the revision they announce (an earlier attempt stored the change and failed
 * before sending), `undone` when it has not (the change itself was never stored).
 */
function splitPending(notifications: readonly PendingNotification[], byEntity: ReadonlyMap<string, readonly Incident[]>): { durable: PendingNotification[]; undone: PendingNotification[] } {
  const stored = new Map<string, number>();
  for (const incidents of byEntity.values()) for (const i of incidents) stored.set(i.id, Math.max(i.revision, stored.get(i.id) ?? 0));
  const durable: PendingNotification[] = [];
  const undone: PendingNotification[] = [];
  for (const n of notifications) ((stored.get(n.incidentId) ?? 0) >= n.revision ? durable : undone).push(n);
  return { durable, undone };
}

/** Durations (ms) of a batch's successive stages, for the stage histogram and the debug log. */
class StageTimer {
  readonly laps: [string, number][] = [];
  private last = performance.now();

  lap(stage: string): void {
    const now = performance.now();
    this.laps.push([stage, Math.round((now - this.last) * 100) / 100]);
    this.last = now;
  }
}

function entityKey(tenant: string, primary: EntityRef): string {
  return `${tenant}\0${primary.type}\0${primary.value}`;
}

/**
 * Runs tasks that name keys so that two tasks sharing a key never overlap, in call order; tasks with disjoint keys
 * run at once. A task waits only for tasks called before it (keys are claimed synchronously), so it cannot deadlock.
 */
export class KeyedSequencer {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const before = [...new Set(keys)].map((k) => this.tails.get(k)).filter((p): p is Promise<void> => p !== undefined);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    for (const k of keys) this.tails.set(k, mine);
    try {
      await Promise.all(before);
      return await task();
    } finally {
      release();
      for (const k of keys) if (this.tails.get(k) === mine) this.tails.delete(k);
    }
  }

  /** Keys held or waited for (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
