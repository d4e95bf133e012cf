import type { AccessEvent, LogFormat } from '@vigil/contracts';
import type { Draft } from '../normalise/draft.js';
import type { TrustedProxies } from '../normalise/client-ip.js';
import type { RejectReason, Rejection } from '../normalise/reject.js';

export type JsonRecord = Record<string, unknown>;

/** One gateway format over JSON records: a cheap shape test and the field picking. */
export interface JsonFormat {
  readonly format: LogFormat;
  readonly kind: 'json';
  detect(r: JsonRecord): boolean;
  toDraft(r: JsonRecord): Draft | Rejection;
}

/** One gateway format over text lines. */
export interface TextFormat {
  readonly format: LogFormat;
  readonly kind: 'text';
  detect(line: string): boolean;
  toDraft(line: string): Draft | Rejection;
}

export interface ParseContext {
  tenant: string;
  /** Ingestion wall-clock time, epoch ms (from the injected Clock), for the timestamp sanity check. */
  now: number;
  /** Force a format (from config or a per-request header) or detect it per record ('auto', the default). */
  format?: LogFormat | 'auto';
  /** Proxies whose X-Forwarded-For entries are trusted: IPs or CIDRs, or a list compiled once. */
  trustedProxies: readonly string[] | TrustedProxies;
  /** Key for the keyed hash of raw credentials (VIGIL_HASH_KEY). */
  hashKey: string;
  /** Records larger than this (UTF-8 bytes) are rejected as oversized. Default 64 KiB. */
  maxRecordBytes?: number;
  /** Accepted clock skew into the future, ms. Default 1 day. */
  maxFutureMs?: number;
  /** Maximum event age, ms. Default 30 days. */
  maxAgeMs?: number;
  /** 'gateway' (default): the gateway's route name when there is one; 'template': always the path template. */
  routeSource?: 'gateway' | 'template';
  /** Use the zod schema for the final check instead of the equivalent hand-written one (slower). */
  zodCheck?: boolean;
}

export type ParseResult =
  | { ok: true; event: AccessEvent }
  | {
      ok: false;
      reason: RejectReason;
      message: string;
      /** The original record, untouched (object input: its JSON text), for the dead-letter. */
      raw: string;
      /** The format, when it was known or detected before the failure. */
      format?: LogFormat;
    };

export function isRejection(d: Draft | Rejection): d is Rejection {
  return 'reason' in d;
}
