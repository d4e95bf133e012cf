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
  /** Bytes of the file read so far (compressed bytes for .gz): progress and ETA. */
  bytesRead(): number;
}

/** Stream the records of a log file: NDJSON / JSON lines or text lines, plain or gzip. */
export function readLines(path: string): LineSource {
  const totalBytes = statSync(path).size;
  let read = 0;
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  file.on('data', (chunk) => {
    read += chunk.length;
  });
  const input: Readable = isGzipFile(path) ? file.pipe(createGunzip()) : file;
  file.on('error', (err) => input.destroy(err));
  async function* lines(): AsyncGenerator<string> {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (l.trim() !== '') yield l;
    }
  }
  return { lines: lines(), totalBytes, bytesRead: () => read };
}
