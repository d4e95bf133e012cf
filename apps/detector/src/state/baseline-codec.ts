import { EntityBaseline, type BaselineOptions } from '../detection/baseline.js';

/**
 * Lossless compact form of `EntityBaseline.toBytes()` for idle entities. The raw state is
 *
 *   u8 version | 7 × f64 header (n, mean, var, residVar, first, last, ringHead) | f32 × (ringSize + 24 + 7)
 *
 * and most of it is usually a default: first/last equal the entity's own first/last active window, ringHead is 0
 * for a ring of one, ring slots never written are NaN, seasonal slots never visited keep their initial factor, a
 * metric that never varied has zero variances. The compact form keeps only what differs, as raw bytes (never
 * through a JS number, so NaN payloads and -0 survive):
 *
 *   u8 header mask (bit i: header field i stored; bit 7: n stored as u32) | stored header fields
 *   | ceil(slots / 8) bytes slot mask | stored f32 slots (4 raw bytes each)
 *
 * With `halfSeasons` (the caller checked `seasonsFitHalf`), each stored seasonal slot is 2 bytes: its float32's high
 * half, the low half being zero (baselines keep seasonal factors at bfloat16 precision).
 *
 * `expandBaseline(compactBaseline(x)) === x`, byte for byte, for every x (see baseline-codec.spec.ts).
 */
const H_FIELDS = 7;
const H_N = 0;
const H_FIRST = 4;
const H_LAST = 5;
const N_AS_U32 = 0x80;
const SEASON_SLOTS = 24 + 7;

interface Layout {
  raw: number;
  slots: number;
  maskBytes: number;
  /** Default raw bytes of a fresh baseline (version byte included). */
  fresh: Uint8Array;
}

const layouts = new Map<string, Layout>();

function layoutOf(options: BaselineOptions): Layout {
  const id = `${options.kind}:${options.ringSize}`;
  let l = layouts.get(id);
  if (!l) {
    const slots = options.ringSize + SEASON_SLOTS;
    const fresh = new EntityBaseline(options).toBytes();
    l = { raw: fresh.byteLength, slots, maskBytes: (slots + 7) >> 3, fresh };
    layouts.set(id, l);
  }
  return l;
}

/** Raw bytes of the entity's first and last window start (reused: no allocation per encode). */
const firstB = new Uint8Array(8);
const lastB = new Uint8Array(8);
const firstV = new DataView(firstB.buffer);
const lastV = new DataView(lastB.buffer);

function sameBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** True when every seasonal slot of `raw` that differs from a fresh baseline has a zero low half (2 bytes suffice). */
export function seasonsFitHalf(raw: Uint8Array, options: BaselineOptions): boolean {
  const l = layoutOf(options);
  const base = 1 + H_FIELDS * 8;
  for (let s = options.ringSize; s < l.slots; s++) {
    const at = base + s * 4;
    if (sameBytes(raw, at, l.fresh, at, 4)) continue;
    if (raw[at] !== 0 || raw[at + 1] !== 0) return false;
  }
  return true;
}

/** Upper bound of the compact size (what to reserve). */
export function maxCompactBaselineBytes(options: BaselineOptions): number {
  const l = layoutOf(options);
  return 1 + H_FIELDS * 8 + l.maskBytes + l.slots * 4;
}

/**
 * Writes the compact form of `raw` (an `EntityBaseline.toBytes()`) into `out` at `off`; returns the new offset.
 * `first`/`last` are the entity's first and last active window starts (the defaults for the baseline's own).
 */
export function compactBaseline(raw: Uint8Array, options: BaselineOptions, first: number, last: number, out: Uint8Array, off: number, halfSeasons = false): number {
  const l = layoutOf(options);
  if (raw.byteLength !== l.raw || raw[0] !== l.fresh[0]) throw new Error(`baseline state: expected ${l.raw} bytes of version ${l.fresh[0]}`);
  firstV.setFloat64(0, first, true);
  lastV.setFloat64(0, last, true);
  const maskAt = off;
  let mask = 0;
  off += 1;
  for (let i = 0; i < H_FIELDS; i++) {
    const at = 1 + i * 8;
    const def = i === H_FIRST ? firstB : i === H_LAST ? lastB : l.fresh;
    const defAt = i === H_FIRST || i === H_LAST ? 0 : at;
    if (sameBytes(raw, at, def, defAt, 8)) continue;
    if (i === H_N) {
      const dv = new DataView(raw.buffer, raw.byteOffset + at, 8);
      const n = dv.getFloat64(0, true);
      if (Number.isInteger(n) && n >= 0 && n < 2 ** 32 && !Object.is(n, -0)) {
        new DataView(out.buffer, out.byteOffset + off, 4).setUint32(0, n, true);
        off += 4;
        mask |= N_AS_U32;
        continue;
      }
    }
    out.set(raw.subarray(at, at + 8), off);
    off += 8;
    mask |= 1 << i;
  }
  out[maskAt] = mask;
  const slotMaskAt = off;
  out.fill(0, off, off + l.maskBytes);
  off += l.maskBytes;
  const base = 1 + H_FIELDS * 8;
  for (let s = 0; s < l.slots; s++) {
    const at = base + s * 4;
    if (sameBytes(raw, at, l.fresh, at, 4)) continue;
    out[slotMaskAt + (s >> 3)]! |= 1 << (s & 7);
    if (halfSeasons && s >= options.ringSize) {
      out[off] = raw[at + 2]!;
      out[off + 1] = raw[at + 3]!;
      off += 2;
      continue;
    }
    out.set(raw.subarray(at, at + 4), off);
    off += 4;
  }
  return off;
}

/** Reads a compact baseline at `off` of `src`; returns the raw `toBytes()` form and the offset after it. */
export function expandBaseline(src: Uint8Array, off: number, options: BaselineOptions, first: number, last: number, halfSeasons = false): { raw: Uint8Array; next: number } {
  const l = layoutOf(options);
  const raw = l.fresh.slice();
  const mask = src[off]!;
  off += 1;
  for (let i = 0; i < H_FIELDS; i++) {
    const at = 1 + i * 8;
    if (i === H_N && mask & N_AS_U32) {
      const n = new DataView(src.buffer, src.byteOffset + off, 4).getUint32(0, true);
      new DataView(raw.buffer, at, 8).setFloat64(0, n, true);
      off += 4;
    } else if (mask & (1 << i)) {
      raw.set(src.subarray(off, off + 8), at);
      off += 8;
    } else if (i === H_FIRST || i === H_LAST) {
      new DataView(raw.buffer, at, 8).setFloat64(0, i === H_FIRST ? first : last, true);
    }
  }
  const slotMaskAt = off;
  off += l.maskBytes;
  const base = 1 + H_FIELDS * 8;
  for (let s = 0; s < l.slots; s++) {
    if (!(src[slotMaskAt + (s >> 3)]! & (1 << (s & 7)))) continue;
    if (halfSeasons && s >= options.ringSize) {
      const at = base + s * 4;
      raw[at] = 0;
      raw[at + 1] = 0;
      raw[at + 2] = src[off]!;
      raw[at + 3] = src[off + 1]!;
      off += 2;
      continue;
    }
    raw.set(src.subarray(off, off + 4), base + s * 4);
    off += 4;
  }
  return { raw, next: off };
}
