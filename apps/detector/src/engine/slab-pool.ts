/**
 * Fixed-size slots in shared slabs, one size class per record length. An idle entity then costs its bytes plus a
 * small-integer handle in a Map (no typed-array object and no ArrayBuffer of its own, which would add ≈ 300 bytes
 * of V8 overhead per entity).
 *
 * Handle = class index << 24 | slot: a V8 small integer, stored unboxed in a Map.
 *
 * Records vary in length (compact entity states), so sizes are rounded up to a class: 8-byte steps up to 256 bytes,
 * 32 up to 1 KiB, 256 beyond (at most 63 classes). A slot may therefore hold trailing padding; readers must not
 * rely on the view's length.
 */
const SLOTS_PER_SLAB = 256;
const MAX_CLASSES = 63;
const MAX_SLOTS = 1 << 24;

interface SizeClass {
  size: number;
  slabs: Uint8Array[];
  free: number[];
  next: number;
}

export class SlabPool {
  private readonly classes: SizeClass[] = [];
  private readonly bySize = new Map<number, number>();

  /** Copies `bytes` into a free slot and returns its handle. */
  store(bytes: Uint8Array): number {
    const ci = this.classFor(bytes.byteLength);
    const c = this.classes[ci]!;
    // (the slot's padding after the record is left as is: only the record's own bytes are meaningful)
    let slot = c.free.pop();
    if (slot === undefined) {
      slot = c.next++;
      if (slot >= MAX_SLOTS) throw new RangeError(`slab pool: more than ${MAX_SLOTS} records of ${c.size} bytes`);
      if ((slot & (SLOTS_PER_SLAB - 1)) === 0) c.slabs.push(new Uint8Array(SLOTS_PER_SLAB * c.size));
    }
    this.view(ci, slot).set(bytes);
    return (ci << 24) | slot;
  }

  /** A view of the record (valid until the handle is freed). */
  get(handle: number): Uint8Array {
    return this.view(handle >>> 24, handle & (MAX_SLOTS - 1));
  }

  free(handle: number): void {
    this.classes[handle >>> 24]!.free.push(handle & (MAX_SLOTS - 1));
  }

  /** Bytes held in slabs (allocated, including free slots). */
  get allocatedBytes(): number {
    return this.classes.reduce((n, c) => n + c.slabs.length * SLOTS_PER_SLAB * c.size, 0);
  }

  private view(ci: number, slot: number): Uint8Array {
    const c = this.classes[ci]!;
    const slab = c.slabs[Math.floor(slot / SLOTS_PER_SLAB)]!;
    const off = (slot % SLOTS_PER_SLAB) * c.size;
    return slab.subarray(off, off + c.size);
  }

  private classFor(bytes: number): number {
    const size = bytes <= 256 ? Math.max(8, (bytes + 7) & ~7) : bytes <= 1024 ? (bytes + 31) & ~31 : (bytes + 255) & ~255;
    let ci = this.bySize.get(size);
    if (ci === undefined) {
      if (this.classes.length >= MAX_CLASSES) throw new RangeError('slab pool: too many record sizes');
      ci = this.classes.length;
      this.classes.push({ size, slabs: [], free: [], next: 0 });
      this.bySize.set(size, ci);
    }
    return ci;
  }
}
