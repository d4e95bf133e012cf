import { closeSync, openSync, readSync, statSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Whether a file is gzip-compressed (by its magic bytes, whatever its name). */
export function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export interface LineSource {
  /** Non-empty lines (line endings and a trailing \r removed). */
  lines: AsyncIterable<string>;
  /** Size of the file on disk (compressed size for .gz). */
  totalBytes: number;
  /**
   * How far into the file the lines handed out so far reach, in bytes on disk (for .gz: compressed bytes, estimated
   * from the share of the decompressed text consumed): progress and ETA. Read-ahead is not counted.
   */
  bytesRead(): number;
}

/**
 * Stream the records of a log file: NDJSON / JSON lines or text lines, plain or gzip. A missing file throws here;
 * the file is opened when `lines` is first iterated (so nothing is read, and lost, before a consumer is attached).
 */
export function readLines(path: string): LineSource {
  const totalBytes = statSync(path).size;
  /** Bytes read from disk, text bytes produced (decompressed), text bytes handed out as lines. */
  let read = 0;
  /** File bytes turned into text so far: read for a plain file, what gunzip has consumed for gzip. */
  let decoded = () => read;
  let produced = 0;
  let consumed = 0;
  let done = false;
  async function* lines(): AsyncGenerator<string> {
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    file.on('data', (chunk) => {
      read += chunk.length;
    });
    let input: Readable = file;
    if (isGzipFile(path)) {
      const gunzip = createGunzip();
      decoded = () => gunzip.bytesWritten;
      input = file.pipe(gunzip);
    }
    input.on('data', (chunk: Buffer) => {
      produced += chunk.length;
    });
    file.on('error', (err) => input.destroy(err));
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of rl) {
        consumed += Buffer.byteLength(line) + 1;
        const l = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (l.trim() !== '') yield l;
      }
      done = true;
    } finally {
      rl.close();
      file.destroy();
    }
  }
  const bytesRead = () => (done ? read : produced === 0 ? 0 : Math.min(read, Math.round((decoded() * Math.min(consumed, produced)) / produced)));
  return { lines: lines(), totalBytes, bytesRead };
}
