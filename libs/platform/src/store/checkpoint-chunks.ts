/** Checkpoints are stored in rows of at most this many bytes, so one huge partition never makes one huge value. */
export const CHECKPOINT_CHUNK_BYTES = 4 * 1024 * 1024;

export function checkpointChunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, Math.min(bytes.byteLength, i + size)));
  return out.length ? out : [new Uint8Array(0)];
}

export function joinChunks(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
