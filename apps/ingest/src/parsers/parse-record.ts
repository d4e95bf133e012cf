import { LogFormat } from '@vigil/contracts';
import { compileTrustedProxies } from '../normalise/client-ip.js';
import type { Draft } from '../normalise/draft.js';
import { normaliseDraft, type NormaliseOptions } from '../normalise/normalise.js';
import { show, type Rejection } from '../normalise/reject.js';
import { apisix } from './formats/apisix.js';
import { aws } from './formats/aws.js';
import { envoy } from './formats/envoy.js';
import { kong } from './formats/kong.js';
import { NOT_NGINX, nginx } from './formats/nginx.js';
import { traefik } from './formats/traefik.js';
import { tyk } from './formats/tyk.js';
import { vigil } from './formats/vigil.js';
import { isRejection, type JsonFormat, type JsonRecord, type ParseContext, type ParseResult } from './types.js';

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;

/** JSON formats in detection order: most specific shapes first. */
export const JSON_FORMATS: readonly JsonFormat[] = [vigil, kong, apisix, traefik, aws, tyk, envoy];
const BY_NAME = new Map<LogFormat, JsonFormat>(JSON_FORMATS.map((f) => [f.format, f]));

/**
 * The format of one record: a JSON object is matched against each format's shape, a text line must be an
 * nginx combined line. null when nothing matches. (Accepts a record's text or its parsed JSON object.)
 */
export function detectFormat(record: string | object): LogFormat | null {
  if (typeof record === 'string') {
    const s = record.trim();
    if (s.charCodeAt(0) === 123) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch {
        return null;
      }
      return isObject(parsed) ? detectJson(parsed) : null;
    }
    return nginx.detect(s) ? 'nginx' : null;
  }
  return isObject(record) ? detectJson(record as JsonRecord) : null;
}

function detectParser(r: JsonRecord): JsonFormat | undefined {
  for (const f of JSON_FORMATS) if (f.detect(r)) return f;
  return undefined;
}

function detectJson(r: JsonRecord): LogFormat | null {
  return detectParser(r)?.format ?? null;
}

function isObject(v: unknown): v is JsonRecord {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A format name from a per-request header or a config value (`x-vigil-log-format: kong`), case-insensitive;
 * '' / 'auto' mean detect per record. Returns null for an unknown name so the caller can answer 400.
 */
export function formatFromHeader(value: string | undefined): LogFormat | 'auto' | null {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  const r = LogFormat.safeParse(v);
  return r.success ? r.data : null;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The normalise options of the last context seen: a batch parses every record with one context. */
let lastOptions: NormaliseOptions | null = null;
let lastProxies: ParseContext['trustedProxies'] | null = null;

/** NormaliseOptions for a context, reused while the context's fields are the same (compared field by field). */
function optionsFor(ctx: ParseContext): NormaliseOptions {
  const o = lastOptions;
  if (
    o !== null && lastProxies === ctx.trustedProxies && o.tenant === ctx.tenant && o.now === ctx.now && o.hashKey === ctx.hashKey &&
    o.maxFutureMs === ctx.maxFutureMs && o.maxAgeMs === ctx.maxAgeMs && o.routeSource === ctx.routeSource && o.zodCheck === ctx.zodCheck
  ) {
    return o;
  }
  lastProxies = ctx.trustedProxies;
  lastOptions = {
    tenant: ctx.tenant,
    now: ctx.now,
    trustedProxies: compileTrustedProxies(ctx.trustedProxies),
    hashKey: ctx.hashKey,
    maxFutureMs: ctx.maxFutureMs,
    maxAgeMs: ctx.maxAgeMs,
    routeSource: ctx.routeSource,
    zodCheck: ctx.zodCheck,
  };
  return lastOptions;
}

/**
 * Parse and normalise one raw gateway record (a line of text or a JSON object) into an AccessEvent, or a
 * typed rejection that keeps the original record for the dead-letter. Pure: no I/O, no clock reads.
 */
export function parseRecord(input: string | object, ctx: ParseContext): ParseResult {
  const max = ctx.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let raw: string;
  let record: JsonRecord | null = null;
  if (typeof input === 'string') {
    raw = input;
  } else {
    try {
      raw = JSON.stringify(input) ?? String(input);
    } catch {
      raw = String(input);
    }
    if (!isObject(input)) return { ok: false, reason: 'invalid_json', message: 'the record is not a JSON object', raw };
    record = input;
  }
  // UTF-8 is at most 3 bytes per UTF-16 unit, so the exact count is only needed near the limit.
  if (raw.length > max || (raw.length * 3 > max && byteLength(raw) > max)) {
    return { ok: false, reason: 'oversized', message: `record is ${byteLength(raw)} bytes, over the ${max}-byte limit`, raw };
  }

  const forced = ctx.format === undefined || ctx.format === 'auto' ? null : ctx.format;
  let text = raw;
  if (record === null) {
    // Trim the line ending and surrounding blanks; the content hash uses the trimmed text, so a record
    // redelivered with a different line ending keeps its id.
    text = raw.trim();
    const first = text.charCodeAt(0);
    if (forced !== 'nginx' && (first === 123 /* { */ || first === 91 /* [ */)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        return { ok: false, reason: 'invalid_json', message: `invalid JSON: ${(e as Error).message}`, raw };
      }
      if (!isObject(parsed)) {
        const what = Array.isArray(parsed) ? 'a JSON array (split batches into records before parsing)' : 'not a JSON object';
        return { ok: false, reason: 'invalid_json', message: `the record is ${what}`, raw };
      }
      record = parsed;
    } else if (forced !== null && forced !== 'nginx') {
      return { ok: false, reason: 'invalid_json', message: `format ${forced} expects a JSON object, got ${show(text.slice(0, 40))}`, raw, format: forced };
    }
  }

  let format: LogFormat;
  let draft: Draft | Rejection;
  if (record === null) {
    if (text === '') return { ok: false, reason: 'malformed', message: 'empty record', raw };
    format = 'nginx';
    // toDraft matches the line once; a line that does not match at all is an unknown format unless nginx was forced.
    draft = nginx.toDraft(text);
    if (forced === null && isRejection(draft) && draft.message.startsWith(NOT_NGINX)) {
      return { ok: false, reason: 'unknown_format', message: `not JSON and not an nginx combined line: ${show(text)}`, raw };
    }
  } else {
    if (forced === 'nginx') return { ok: false, reason: 'malformed', message: 'format nginx expects a text line, got JSON', raw, format: forced };
    const parser = forced !== null ? BY_NAME.get(forced) : detectParser(record);
    if (parser === undefined) {
      const keys = Object.keys(record).slice(0, 8).join(', ');
      return { ok: false, reason: 'unknown_format', message: `JSON record matches no known gateway format (keys: ${keys})`, raw };
    }
    format = parser.format;
    draft = parser.toDraft(record);
  }
  if (isRejection(draft)) return { ok: false, reason: draft.reason, message: draft.message, raw, format };

  const r = normaliseDraft(draft, format, text, optionsFor(ctx));
  return r.ok ? r : { ok: false, reason: r.reason, message: r.message, raw, format };
}
