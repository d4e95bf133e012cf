import type { EntityType } from '@vigil/contracts';
import { PopulationBaseline } from '../detection/baseline.js';
import { Watermark, type WindowAggregate } from '../detection/window.js';
import { EntityState } from './entity-state.js';
import { METRIC_INDEX, type MetricName } from './metrics-catalog.js';
import { SlabPool } from './slab-pool.js';

/** One entity's open window on this partition. */
export interface OpenWindow {
  key: string;
  tenant: string;
  entityType: EntityType;
  entity: string;
  windowStart: number;
  agg: WindowAggregate;
  /** First offset (of the consumed topic) folded into this window: replay starts here after a restore. */
  firstOffset: number;
  /** Detectors that already fired for this window (early), so it fires once per detector + entity + window (made on the first). */
  fired: Set<string> | null;
  /**
   * Early firing, per applicable baseline detector of the entity type (see evaluatePartialWindow): the detector
   * is skipped while its metric is at or below this (its full-window upper bound once computed; +Infinity once fired).
   */
  skipUpTo: number[];
  /** Metrics judged anomalous in this window (a detector fired on them): their baseline update is held back. */
  held?: Set<MetricName>;
  /** The entity this window belongs to (while open). */
  hot: HotEntity;
}

/**
 * An entity with at least one open window: its decoded state and its open windows — the one the last event went to
 * (`cur`: most events land in the same window as the previous one of the entity, found without any key or map) and
 * the others (overlapping windows around a window boundary, late ones; few).
 */
export interface HotEntity {
  key: string;
  tenant: string;
  type: EntityType;
  entity: string;
  state: EntityState;
  openWindows: number;
  cur: OpenWindow | null;
  others: OpenWindow[];
}

/** Entity types as small integers (index into per-type tables). */
export const TYPE_INDEX: Readonly<Record<EntityType, number>> = { ip: 0, token: 1, endpoint: 2, token_ip: 3, tenant: 4 };

/** Offsets are compared as numbers: exact below 2^53 (a partition would need 9e15 records to get there). */
export function offsetNumber(offset: string | bigint): number {
  const n = Number(offset);
  if (!Number.isSafeInteger(n)) throw new RangeError(`offset ${String(offset)} is not an integer below 2^53`);
  return n;
}

/**
 * A closed window's baseline update held back because a detector fired on that metric: applied once event time
 * passes `windowStart + windowMs + holdMs`, unless false-positive feedback for that window arrived meanwhile.
 */
export interface PendingUpdate {
  key: string;
  metric: MetricName;
  value: number;
  windowStart: number;
}

/** Entity count across every partition of one engine, for the LRU cap. */
export class EntityBudget {
  count = 0;
  evicted = 0;
  /** Idle entities kept decoded (warm) across partitions; beyond `maxWarm` the least recently used are packed. */
  warm = 0;
  constructor(
    readonly max: number,
    readonly maxWarm = DEFAULT_MAX_WARM,
  ) {}
}

/**
 * Idle entities kept decoded by default (≈ 1–2 KB each): an entity active again within a few windows is then not
 * unpacked and repacked at every window of its own; the rest are packed (the bytes-per-idle-entity figure).
 */
export const DEFAULT_MAX_WARM = 100_000;

export function entityKey(tenant: string, type: EntityType, entity: string): string {
  return `${tenant}|${type}|${entity}`;
}

export function typeOfKey(key: string): EntityType {
  const a = key.indexOf('|');
  const b = key.indexOf('|', a + 1);
  return key.slice(a + 1, b) as EntityType;
}

/**
 * Everything the detector holds for one partition of one consumed topic: idle entities (packed bytes, in LRU order),
 * entities with open windows (decoded), open windows by start, population baselines, the event-time watermark, and
 * the bookkeeping a checkpoint needs (offsets, anomaly ids already fired, dedup high-water marks of re-keyed input).
 */
export class PartitionState {
  /** Idle entities → slab handles, least recently closed first (Map order is the LRU order). */
  private readonly entities = new Map<string, number>();
  private readonly pool = new SlabPool();
  /** Entities with at least one open window, decoded; moved to `warm` when their last window closes. */
  readonly hot = new Map<string, HotEntity>();
  /** The same hot entities, per entity type, tenant and entity (no key built per event). */
  private readonly hotIndex: Map<string, Map<string, HotEntity>>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  /** Population baselines found so far, per tenant: [type index × 8 + metric index] (no key built per lookup). */
  private readonly popCache = new Map<string, (PopulationBaseline | undefined)[]>();
  /**
   * Idle entities still decoded, least recently closed first; the oldest are packed into `entities` when the
   * engine holds more than `budget.maxWarm` of them. Every warm entity is more recent than every packed one.
   */
  private readonly warm = new Map<string, EntityState>();
  readonly population = new Map<string, PopulationBaseline>();
  /** Open windows by window start, in opening order. */
  readonly open = new Map<number, OpenWindow[]>();
  /** Anomaly ids emitted for windows that are still open (restored from checkpoints so a replay re-emits none). */
  readonly firedIds = new Map<number, Set<string>>();
  /** Re-keyed input: per source partition, the last (offset, seq) applied. */
  readonly highwater = new Map<number, { offset: number; seq: number }>();
  /** Held-back baseline updates of closed windows, oldest first. */
  pending: PendingUpdate[] = [];
  readonly watermark: Watermark;
  /** Windows ending at or before this have been closed and folded into the baselines. */
  closedThrough = -Infinity;
  lastProcessed: bigint | null = null;
  /** After a restore: offsets up to here were processed before, so their re-keyed partials were already published. */
  replayUntil: bigint | null = null;
  eventsSinceCheckpoint = 0;
  lastCheckpointTs = -Infinity;
  late = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    latenessMs: number,
    private readonly budget: EntityBudget,
    maxTs?: number,
    maxSourceSkewMs?: number,
  ) {
    this.watermark = new Watermark(latenessMs, maxTs, maxSourceSkewMs);
  }

  get entityCount(): number {
    return this.entities.size + this.warm.size + this.hot.size;
  }

  populationFor(tenant: string, type: EntityType, metric: MetricName): PopulationBaseline {
    const slots = this.popSlots(tenant);
    const i = TYPE_INDEX[type] * 8 + METRIC_INDEX[metric];
    let p = slots[i];
    if (p) return p;
    const k = `${tenant}|${type}|${metric}`;
    p = this.population.get(k);
    if (!p) this.population.set(k, (p = new PopulationBaseline()));
    slots[i] = p;
    return p;
  }

  /** The population baseline if it exists (evaluation never creates one). */
  populationOf(tenant: string, type: EntityType, metric: MetricName): PopulationBaseline | undefined {
    const slots = this.popSlots(tenant);
    const i = TYPE_INDEX[type] * 8 + METRIC_INDEX[metric];
    const p = slots[i];
    if (p) return p;
    return (slots[i] = this.population.get(`${tenant}|${type}|${metric}`));
  }

  private popSlots(tenant: string): (PopulationBaseline | undefined)[] {
    let slots = this.popCache.get(tenant);
    if (!slots) this.popCache.set(tenant, (slots = new Array<PopulationBaseline | undefined>(40).fill(undefined)));
    return slots;
  }

  /** The hot entity (one with open windows), if it is. */
  hotEntity(tenant: string, type: EntityType, entity: string): HotEntity | undefined {
    return this.hotIndex[TYPE_INDEX[type]]!.get(tenant)?.get(entity);
  }

  /** Per tenant, the hot entities of a type by entity (a batch looks the tenant up once). */
  hotEntitiesOf(tenant: string, type: EntityType): Map<string, HotEntity> {
    const byTenant = this.hotIndex[TYPE_INDEX[type]]!;
    let m = byTenant.get(tenant);
    if (!m) byTenant.set(tenant, (m = new Map()));
    return m;
  }

  /**
   * An entity is getting an open window (its first: `hotEntity` found none): its decoded state, taken out of the
   * idle maps or created. The caller attaches the window.
   */
  makeHot(tenant: string, type: EntityType, entity: string, windowStart: number): HotEntity {
    const key = entityKey(tenant, type, entity);
    const state = this.acquireState(key, type, windowStart);
    const h: HotEntity = { key, tenant, type, entity, state, openWindows: 0, cur: null, others: [] };
    this.hot.set(key, h);
    this.hotEntitiesOf(tenant, type).set(entity, h);
    return h;
  }

  /** One of the entity's open windows closed; when it was the last, the entity goes idle (most recent end of the LRU). */
  closeWindowOf(h: HotEntity, w: OpenWindow): void {
    if (h.cur === w) h.cur = h.others.pop() ?? null;
    else {
      const i = h.others.indexOf(w);
      if (i >= 0) h.others.splice(i, 1);
    }
    h.openWindows -= 1;
    if (h.openWindows > 0) return;
    this.hot.delete(h.key);
    const byEntity = this.hotIndex[TYPE_INDEX[h.type]]!.get(h.tenant);
    if (byEntity) {
      byEntity.delete(h.entity);
      if (byEntity.size === 0) this.hotIndex[TYPE_INDEX[h.type]]!.delete(h.tenant);
    }
    this.goIdle(h.key, h.state);
  }

  /** The decoded state of an idle or new entity, taken out of the idle maps (the caller makes it hot). */
  private acquireState(key: string, type: EntityType, windowStart: number): EntityState {
    const handle = this.entities.get(key);
    let state: EntityState | undefined = this.warm.get(key);
    if (state) {
      this.warm.delete(key);
      this.budget.warm -= 1;
    } else if (handle !== undefined) {
      this.entities.delete(key);
      state = EntityState.decode(type, this.pool.get(handle));
      this.pool.free(handle);
    } else {
      state = new EntityState(type, windowStart);
      this.budget.count += 1;
    }
    return state;
  }

  /** The decoded state of an entity with open windows (or idle but still decoded). */
  hotState(key: string): EntityState | undefined {
    return this.hot.get(key)?.state ?? this.warm.get(key);
  }

  private goIdle(key: string, state: EntityState): void {
    this.warm.set(key, state);
    this.budget.warm += 1;
    if (this.budget.warm > this.budget.maxWarm) this.packOldestWarm(this.budget.warm - this.budget.maxWarm);
  }

  /** Pack the `n` least recently used warm entities (fewer when this partition holds fewer). */
  private packOldestWarm(n: number): void {
    for (const [key, state] of this.warm) {
      if (n-- <= 0) break;
      this.warm.delete(key);
      this.budget.warm -= 1;
      this.entities.set(flat(key), this.pool.store(state.encode()));
    }
  }

  /** Change an entity's state wherever it lives (open windows or packed); false when it is no longer tracked. */
  mutate(key: string, type: EntityType, fn: (state: EntityState) => void): boolean {
    const h = this.hot.get(key);
    if (h) {
      fn(h.state);
      return true;
    }
    const w = this.warm.get(key);
    if (w) {
      fn(w);
      return true;
    }
    const handle = this.entities.get(key);
    if (handle === undefined) return false;
    const state = EntityState.decode(type, this.pool.get(handle));
    fn(state);
    this.pool.free(handle);
    this.entities.set(key, this.pool.store(state.encode())); // same key: keeps its place in the LRU order
    return true;
  }

  /** An idle entity's packed state (a view: copy it to keep it). */
  idle(key: string): Uint8Array | undefined {
    const w = this.warm.get(key);
    if (w) return w.encode();
    const handle = this.entities.get(key);
    return handle === undefined ? undefined : this.pool.get(handle);
  }

  /** Idle entities in LRU order, packed (views into the slabs, or fresh encodings of the warm ones). */
  *idleEntries(): IterableIterator<[string, Uint8Array]> {
    for (const [key, handle] of this.entities) yield [key, this.pool.get(handle)];
    for (const [key, state] of this.warm) yield [key, state.encode()];
  }

  get idleCount(): number {
    return this.entities.size + this.warm.size;
  }

  /** Forget idle entities older than the TTL (event time), then the least recently active beyond the cap. */
  evict(idleTtlMs: number): number {
    let n = 0;
    const horizon = this.watermark.value - idleTtlMs;
    let fresh = false;
    for (const [key, handle] of this.entities) {
      const bytes = this.pool.get(handle);
      const lastSeen = new DataView(bytes.buffer, bytes.byteOffset, 16).getFloat64(8, true);
      if (lastSeen >= horizon) {
        fresh = true;
        break;
      }
      this.entities.delete(key);
      this.pool.free(handle);
      n++;
    }
    if (!fresh) {
      for (const [key, state] of this.warm) {
        if (state.lastSeen >= horizon) break;
        this.warm.delete(key);
        this.budget.warm -= 1;
        n++;
      }
    }
    for (const [key, handle] of this.entities) {
      if (this.budget.count - n <= this.budget.max) break;
      this.entities.delete(key);
      this.pool.free(handle);
      n++;
    }
    for (const key of this.warm.keys()) {
      if (this.budget.count - n <= this.budget.max) break;
      this.warm.delete(key);
      this.budget.warm -= 1;
      n++;
    }
    this.budget.count -= n;
    this.budget.evicted += n;
    return n;
  }

  /** This partition's entities leave the engine (revoked partition). */
  dispose(): void {
    this.budget.count -= this.entityCount;
    this.entities.clear();
    this.budget.warm -= this.warm.size;
    this.warm.clear();
    this.hot.clear();
    for (const m of this.hotIndex) m.clear();
    this.open.clear();
    this.pending = [];
  }

  /** Where to resume consuming so every open window is rebuilt: its first offset, or after the last processed. */
  resumeOffset(): bigint | null {
    let min = Infinity;
    for (const windows of this.open.values()) for (const w of windows) if (w.firstOffset < min) min = w.firstOffset;
    if (min !== Infinity) return BigInt(min);
    return this.lastProcessed === null ? null : this.lastProcessed + 1n;
  }

  adoptRestoredEntity(key: string, bytes: Uint8Array): void {
    const old = this.entities.get(key);
    if (this.warm.delete(key)) this.budget.warm -= 1;
    else if (old === undefined) this.budget.count += 1;
    if (old !== undefined) this.pool.free(old);
    this.entities.set(flat(key), this.pool.store(bytes));
  }
}

/**
 * Keys built by concatenation are V8 cons strings (a tree of parts, ≈ 100 extra bytes); an idle entity keeps its key
 * for days, so store a flat copy. The JSON round trip is exact (lone surrogates included).
 */
function flat(key: string): string {
  return JSON.parse(JSON.stringify(key)) as string;
}
