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
  /** Neighbours in the partition's LRU list of decoded entities (older, newer; null at the ends). */
  prev: HotEntity | null;
  next: HotEntity | null;
}

/** What a pooled hot-entity record points to (nothing of an entity). */
const NO_STATE = new EntityState('tenant', 0, false);

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
  /**
   * Decoded entities by key: hot ones (with open windows) and warm ones (idle, still decoded). They are in LRU order in
   * the list below (an entity moves to the end when it becomes hot and again when its last window closes, so the oldest warm ones
   * come first and hot ones are among the most recent); the oldest warm ones are packed into `entities` when the
   * engine holds more than `budget.maxWarm` of them. Every warm entity is more recent than every packed one.
   */
  private readonly decoded = new Map<string, HotEntity>();
  /**
   * The same entities in LRU order, as a list threaded through the records (oldest first): moving an entity to the
   * recent end is two pointer swaps instead of a delete and re-insert in the map (whose table then fills with
   * deleted entries and is rebuilt, a multi-megabyte allocation, every few thousand moves).
   */
  private lruHead: HotEntity | null = null;
  private lruTail: HotEntity | null = null;
  /** The decoded entities again, per entity type, tenant and entity: an event finds its entity without building a key. */
  private readonly index: Map<string, Map<string, HotEntity>>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  private hotCount = 0;
  /** Records of entities packed or evicted, reused. */
  private readonly recPool: HotEntity[] = [];
  /** Population baselines found so far, per tenant: [type index × 8 + metric index] (no key built per lookup). */
  private readonly popCache = new Map<string, (PopulationBaseline | undefined)[]>();
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
    return this.entities.size + this.decoded.size;
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

  /** Entities with at least one open window (a snapshot, for checkpoints and tests). */
  get hot(): ReadonlyMap<string, HotEntity> {
    const out = new Map<string, HotEntity>();
    if (this.hotCount > 0) for (let h = this.lruHead; h; h = h.next) if (h.openWindows > 0) out.set(h.key, h);
    return out;
  }

  /** A decoded entity (hot, or warm: `openWindows` 0), if it is. */
  hotEntity(tenant: string, type: EntityType, entity: string): HotEntity | undefined {
    return this.index[TYPE_INDEX[type]]!.get(tenant)?.get(entity);
  }

  /** Per tenant, the decoded entities of a type by entity (a batch looks the tenant up once). */
  hotEntitiesOf(tenant: string, type: EntityType): Map<string, HotEntity> {
    const byTenant = this.index[TYPE_INDEX[type]]!;
    let m = byTenant.get(tenant);
    if (!m) byTenant.set(tenant, (m = new Map()));
    return m;
  }

  /**
   * An entity is getting an open window and is not decoded (`hotEntity` found none): its state unpacked or created,
   * and it is hot. The caller attaches the window (`openWindows` += 1).
   */
  makeHot(tenant: string, type: EntityType, entity: string, windowStart: number): HotEntity {
    const key = entityKey(tenant, type, entity);
    const handle = this.entities.get(key);
    let state: EntityState;
    if (handle !== undefined) {
      this.entities.delete(key);
      state = EntityState.decode(type, this.pool.get(handle));
      this.pool.free(handle);
    } else {
      state = new EntityState(type, windowStart);
      this.budget.count += 1;
    }
    let h = this.recPool.pop();
    if (h) {
      h.key = key;
      h.tenant = tenant;
      h.type = type;
      h.entity = entity;
      h.state = state;
    } else h = { key, tenant, type, entity, state, openWindows: 0, cur: null, others: [], prev: null, next: null };
    this.decoded.set(key, h);
    this.lruAppend(h);
    this.hotCount += 1;
    this.hotEntitiesOf(tenant, type).set(entity, h);
    return h;
  }

  /** A warm entity's first open window is being attached: it leaves the warm LRU (to its recent end) and is hot. */
  activate(h: HotEntity): void {
    if (h.openWindows !== 0) return;
    this.lruTouch(h);
    this.budget.warm -= 1;
    this.hotCount += 1;
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
    this.hotCount -= 1;
    this.lruTouch(h);
    this.budget.warm += 1;
    if (this.budget.warm > this.budget.maxWarm) this.packOldestWarm(this.budget.warm - this.budget.maxWarm);
  }

  /** The decoded state of an entity with open windows (or idle but still decoded). */
  hotState(key: string): EntityState | undefined {
    return this.decoded.get(key)?.state;
  }

  /** A warm entity leaves the decoded maps (packed or forgotten); its record is reused. */
  private dropDecoded(h: HotEntity): void {
    this.decoded.delete(h.key);
    this.lruUnlink(h);
    this.index[TYPE_INDEX[h.type]]!.get(h.tenant)?.delete(h.entity);
    this.budget.warm -= 1;
    h.state = NO_STATE;
    h.cur = null;
    h.others.length = 0;
    this.recPool.push(h);
  }

  /** Pack the `n` least recently used warm entities (fewer when this partition holds fewer). */
  private packOldestWarm(n: number): void {
    for (let h = this.lruHead; h && n > 0; ) {
      const next = h.next;
      if (h.openWindows === 0) {
        n--;
        this.entities.set(flat(h.key), this.pool.store(h.state.encode()));
        this.dropDecoded(h);
      }
      h = next;
    }
  }

  private lruAppend(h: HotEntity): void {
    h.next = null;
    h.prev = this.lruTail;
    if (this.lruTail) this.lruTail.next = h;
    else this.lruHead = h;
    this.lruTail = h;
  }

  private lruUnlink(h: HotEntity): void {
    if (h.prev) h.prev.next = h.next;
    else this.lruHead = h.next;
    if (h.next) h.next.prev = h.prev;
    else this.lruTail = h.prev;
    h.prev = null;
    h.next = null;
  }

  /** To the recent end of the LRU list. */
  private lruTouch(h: HotEntity): void {
    if (this.lruTail === h) return;
    this.lruUnlink(h);
    this.lruAppend(h);
  }

  /** Change an entity's state wherever it lives (open windows or packed); false when it is no longer tracked. */
  mutate(key: string, type: EntityType, fn: (state: EntityState) => void): boolean {
    const h = this.decoded.get(key);
    if (h) {
      fn(h.state);
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
    const h = this.decoded.get(key);
    if (h) return h.openWindows === 0 ? h.state.encode() : undefined;
    const handle = this.entities.get(key);
    return handle === undefined ? undefined : this.pool.get(handle);
  }

  /** Idle entities in LRU order, packed (views into the slabs, or fresh encodings of the warm ones). */
  *idleEntries(): IterableIterator<[string, Uint8Array]> {
    for (const [key, handle] of this.entities) yield [key, this.pool.get(handle)];
    for (let h = this.lruHead; h; h = h.next) if (h.openWindows === 0) yield [h.key, h.state.encode()];
  }

  get idleCount(): number {
    return this.entities.size + this.decoded.size - this.hotCount;
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
      for (let h = this.lruHead; h; ) {
        const next = h.next;
        if (h.openWindows === 0) {
          if (h.state.lastSeen >= horizon) break;
          this.dropDecoded(h);
          n++;
        }
        h = next;
      }
    }
    for (const [key, handle] of this.entities) {
      if (this.budget.count - n <= this.budget.max) break;
      this.entities.delete(key);
      this.pool.free(handle);
      n++;
    }
    if (this.budget.count - n > this.budget.max) {
      for (let h = this.lruHead; h; ) {
        if (this.budget.count - n <= this.budget.max) break;
        const next = h.next;
        if (h.openWindows === 0) {
          this.dropDecoded(h);
          n++;
        }
        h = next;
      }
    }
    this.budget.count -= n;
    this.budget.evicted += n;
    return n;
  }

  /** This partition's entities leave the engine (revoked partition). */
  dispose(): void {
    this.budget.count -= this.entityCount;
    this.entities.clear();
    this.budget.warm -= this.decoded.size - this.hotCount;
    this.decoded.clear();
    this.lruHead = null;
    this.lruTail = null;
    for (const m of this.index) m.clear();
    this.hotCount = 0;
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
    const d = this.decoded.get(key);
    if (d && d.openWindows === 0) this.dropDecoded(d);
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
