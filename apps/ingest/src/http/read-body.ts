import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Read a request body, un-gzipping it when Content-Encoding says so, refusing more than `maxBytes` after decoding. */
export async function readBody(stream: Readable, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  let source: Readable = stream;
  if (enc === 'gzip' || enc === 'x-gzip') source = stream.pipe(createGunzip());
  else if (enc === 'deflate') source = stream.pipe(createInflate());
  else if (enc !== 'identity' && enc !== '') throw new BodyError(415, `unsupported Content-Encoding ${JSON.stringify(enc)} (use gzip or none)`);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) {
        stream.resume();
        throw new BodyError(413, `body larger than ${maxBytes} bytes (after decompression); split it into smaller requests`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof BodyError) throw err;
    throw new BodyError(400, `could not read the body: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Split a body into raw records by its Content-Type:
 * - `text/plain`: one record per non-empty line (nginx and other text logs);
 * - `application/x-ndjson`, `application/jsonl`, `application/json-seq`: one JSON record per non-empty line;
 * - `application/json`: a JSON array of records, one JSON object, or (leniently) NDJSON.
 * Records are returned as text or parsed objects; each is validated later on its own, so one bad line
 * never sinks the others.
 */
export function splitBody(body: Buffer, contentType: string | undefined): (string | object)[] {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = body.toString('utf8');
  if (type === 'application/json') {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new BodyError(400, `body is not a valid JSON array: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new BodyError(400, 'body is not a JSON array');
      return parsed.map((r: unknown) => (typeof r === 'object' && r !== null ? r : JSON.stringify(r)));
    }
    return nonEmptyLines(text);
  }
  if (type === '' || type === 'text/plain' || type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/json-seq' || type === 'application/octet-stream') {
    return nonEmptyLines(text);
  }
  throw new BodyError(415, `unsupported Content-Type ${JSON.stringify(type)}: use application/json, application/x-ndjson or text/plain`);
}

function nonEmptyLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l.trim() !== '') out.push(l);
  }
  return out;
}
