import type { EntityType } from '@vigil/contracts';
import { EntityBaseline } from '../detection/baseline.js';
import { hash32, type WindowAggregate } from '../detection/window.js';
import { compactBaseline, expandBaseline, maxCompactBaselineBytes, seasonsFitHalf } from '../state/baseline-codec.js';
import { ENTITY_METRICS, METRIC_INDEX, METRICS, type MetricName } from './metrics-catalog.js';

/**
 * What the detector remembers about an idle entity, packed into one byte array:
 *
 *   0  f64 first active window start      8  f64 last active window start
 *   16 u32 active windows                  20 u16 bit i: metric i of the entity type has a baseline
 *   22 u8  flags (1: token roams, too many IPs to track; 2: seasonal slots stored as 2 bytes)
 *   23 u8 known IPs   24 u8 known ASNs   25 u8 known countries
 *   [tokens only] 26: known IPs × u32 hash, known ASNs × u32, known countries × 2 bytes (only the ones known)
 *   then, for each metric present, its baseline in the lossless compact form of state/baseline-codec.ts
 *
 * A record may carry trailing padding (slab size classes): decoding reads only what the header describes.
 */
const HEADER = 26;
const KNOWN_IPS = 16;
const KNOWN_ASNS = 8;
const KNOWN_COUNTRIES = 8;
const FLAG_ROAMING = 1;
/** Every baseline's stored seasonal slots are bfloat16 (2 bytes each; see state/baseline-codec.ts). */
const FLAG_HALF_SEASONS = 2;
/** Zero windows replayed into a lazily created baseline, at most. */
const MAX_BACKFILL = 32;
/** Encode buffer shared by every entity (encode copies out of it). */
let scratch = new Uint8Array(4096);

export interface KnownLocations {
  ipHashes: number[];
  asns: number[];
  countries: string[];
  roaming: boolean;
}

export class EntityState {
  firstSeen: number;
  lastSeen: number;
  activeWindows = 0;
  /** Baselines by METRIC_INDEX (a small array: one indexed load per lookup, no hash table per entity). */
  readonly baselines: (EntityBaseline | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  known: KnownLocations | null;

  constructor(
    readonly type: EntityType,
    windowStart: number,
    /** False: no baselines yet (decode fills them in). */
    fresh = true,
  ) {
    this.firstSeen = windowStart;
    this.lastSeen = windowStart;
    this.known = type === 'token' ? { ipHashes: [], asns: [], countries: [], roaming: false } : null;
    if (fresh) for (const m of ENTITY_METRICS[type]) if (!METRICS[m].lazy) this.baselines[METRIC_INDEX[m]] = new EntityBaseline(METRICS[m].options);
  }

  /** The baseline of a metric; a lazy one is created (and backfilled with zero windows) on demand. */
  baseline(metric: MetricName): EntityBaseline {
    const i = METRIC_INDEX[metric];
    let b = this.baselines[i];
    if (b) return b;
    b = new EntityBaseline(METRICS[metric].options);
    const zeros = Math.min(this.activeWindows, MAX_BACKFILL);
    for (let i = 0; i < zeros; i++) b.update(0, i === 0 ? this.firstSeen : this.lastSeen);
    this.baselines[i] = b;
    return b;
  }

  /** Baseline only if it exists (lazy metrics that were always zero have none). */
  peek(metric: MetricName): EntityBaseline | undefined {
    return this.baselines[METRIC_INDEX[metric]];
  }

  /** Whether a closed window's value of the metric is folded into its baseline: a lazy one only once it has been non-zero. */
  folds(metric: MetricName, value: number): boolean {
    return !(value === 0 && METRICS[metric].lazy && !this.peek(metric));
  }

  /** One more closed window of this entity's (after its metrics were folded in). */
  windowClosed(windowStart: number): void {
    this.activeWindows += 1;
    if (windowStart > this.lastSeen) this.lastSeen = windowStart;
  }

  encode(): Uint8Array {
    const metrics = ENTITY_METRICS[this.type];
    let max = HEADER + KNOWN_IPS * 4 + KNOWN_ASNS * 4 + KNOWN_COUNTRIES * 2;
    for (const m of metrics) max += maxCompactBaselineBytes(METRICS[m].options);
    if (scratch.byteLength < max) scratch = new Uint8Array(max);
    const out = scratch;
    const dv = new DataView(out.buffer, 0, HEADER);
    dv.setFloat64(0, this.firstSeen, true);
    dv.setFloat64(8, this.lastSeen, true);
    dv.setUint32(16, this.activeWindows, true);
    let off = HEADER;
    if (this.known) {
      const k = this.known;
      dv.setUint8(22, k.roaming ? FLAG_ROAMING : 0);
      dv.setUint8(23, k.ipHashes.length);
      dv.setUint8(24, k.asns.length);
      dv.setUint8(25, k.countries.length);
      const kv = new DataView(out.buffer, 0, max);
      for (const h of k.ipHashes) off = (kv.setUint32(off, h, true), off + 4);
      for (const a of k.asns) off = (kv.setUint32(off, a, true), off + 4);
      for (const c of k.countries) {
        kv.setUint8(off, c.charCodeAt(0) & 0xff);
        kv.setUint8(off + 1, (c.charCodeAt(1) || 0) & 0xff);
        off += 2;
      }
    } else {
      dv.setUint32(22, 0, true);
    }
    let mask = 0;
    const raws: (Uint8Array | undefined)[] = metrics.map((m) => this.baselines[METRIC_INDEX[m]]?.toBytes());
    const half = raws.every((r, i) => !r || seasonsFitHalf(r, METRICS[metrics[i]!].options));
    if (half) dv.setUint8(22, dv.getUint8(22) | FLAG_HALF_SEASONS);
    raws.forEach((raw, i) => {
      if (!raw) return;
      off = compactBaseline(raw, METRICS[metrics[i]!].options, this.firstSeen, this.lastSeen, out, off, half);
      mask |= 1 << i;
    });
    dv.setUint16(20, mask, true);
    return out.slice(0, off);
  }

  static decode(type: EntityType, bytes: Uint8Array): EntityState {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const s = new EntityState(type, dv.getFloat64(0, true), false);
    s.lastSeen = dv.getFloat64(8, true);
    s.activeWindows = dv.getUint32(16, true);
    const mask = dv.getUint16(20, true);
    const half = (dv.getUint8(22) & FLAG_HALF_SEASONS) !== 0;
    let off = HEADER;
    if (type === 'token') {
      const nIps = dv.getUint8(23);
      const nAsns = dv.getUint8(24);
      const nCc = dv.getUint8(25);
      const k: KnownLocations = { ipHashes: [], asns: [], countries: [], roaming: (dv.getUint8(22) & FLAG_ROAMING) !== 0 };
      for (let i = 0; i < nIps; i++, off += 4) k.ipHashes.push(dv.getUint32(off, true));
      for (let i = 0; i < nAsns; i++, off += 4) k.asns.push(dv.getUint32(off, true));
      for (let i = 0; i < nCc; i++, off += 2) k.countries.push(String.fromCharCode(dv.getUint8(off), dv.getUint8(off + 1)).replace(/\0/g, ''));
      s.known = k;
    }
    ENTITY_METRICS[type].forEach((m, i) => {
      if (!(mask & (1 << i))) return;
      const options = METRICS[m].options;
      const { raw, next } = expandBaseline(bytes, off, options, s.firstSeen, s.lastSeen, half);
      s.baselines[METRIC_INDEX[m]] = new EntityBaseline(options, raw);
      off = next;
    });
    return s;
  }
}

/** Whether learnLocations would find anything new (without allocating: most windows of a token bring nothing new). */
export function hasNewLocation(k: KnownLocations, ips: readonly string[], asns: readonly number[], countries: readonly string[]): boolean {
  for (const ip of ips) if (!k.ipHashes.includes(hash32(ip))) return true;
  for (const a of asns) if (!k.asns.includes(a)) return true;
  for (const c of countries) if (!k.countries.includes(c) && !k.countries.includes(c.slice(0, 2).toUpperCase())) return true;
  return false;
}

/**
 * hasNewLocation(k, window's exact IPs, ASNs, countries) read from the window itself: no copies, and the IPs compared
 * by the hashes the window already holds (most windows of a token bring nothing new).
 */
export function hasNewLocationIn(k: KnownLocations, agg: WindowAggregate): boolean {
  const d = agg.distinctSet('ips');
  const hs = d ? d.valueHashes() : null;
  if (hs) {
    const n = d!.size;
    for (let i = 0; i < n; i++) if (!k.ipHashes.includes(hs[i] as number)) return true;
  }
  for (let i = 0, n = agg.asnCount; i < n; i++) if (!k.asns.includes(agg.asnAt(i))) return true;
  for (let i = 0, n = agg.countryCount; i < n; i++) {
    const c = agg.countryAt(i);
    if (!k.countries.includes(c) && !k.countries.includes(c.slice(0, 2).toUpperCase())) return true;
  }
  return false;
}

/** Learn a token's locations; returns what was new (before learning it). Bounded: a roaming token stops tracking IPs. */
export function learnLocations(k: KnownLocations, ips: readonly string[], asns: Iterable<number>, countries: Iterable<string>): { ips: string[]; asns: number[]; countries: string[] } {
  const fresh = { ips: [] as string[], asns: [] as number[], countries: [] as string[] };
  for (const ip of ips) {
    const h = hash32(ip);
    if (k.ipHashes.includes(h)) continue;
    fresh.ips.push(ip);
    if (k.roaming) continue;
    if (k.ipHashes.length < KNOWN_IPS) k.ipHashes.push(h);
    else k.roaming = true;
  }
  for (const a of asns) {
    if (k.asns.includes(a)) continue;
    fresh.asns.push(a);
    if (k.asns.length < KNOWN_ASNS) k.asns.push(a);
  }
  for (const c of countries) {
    const cc = c.slice(0, 2).toUpperCase();
    if (k.countries.includes(cc)) continue;
    fresh.countries.push(cc);
    if (k.countries.length < KNOWN_COUNTRIES) k.countries.push(cc);
  }
  return fresh;
}
