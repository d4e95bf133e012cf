import type { JsonRecord } from '../types.js';

/** Field readers tolerant of how gateways encode values: numbers as strings, '-' or null for "none". */

/** A string field: numbers are stringified; null, undefined, '-' and non-scalars are ''. */
export function str(v: unknown): string {
  if (typeof v === 'string') return v === '-' ? '' : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

/** A numeric field: numbers, or numeric strings; NaN when missing or not a number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && v !== '-') {
    const n = Number(v);
    return Number.isFinite(n) ? n : NaN;
  }
  return NaN;
}

/** A byte count: missing or '-' is 0; anything else is passed on for the final check to judge. */
export function bytes(v: unknown): number {
  if (v === undefined || v === null || v === '-' || v === '') return 0;
  return num(v);
}

/** A nested object field, or null. */
export function obj(v: unknown): JsonRecord | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonRecord) : null;
}

export function has(r: JsonRecord, key: string): boolean {
  return r[key] !== undefined;
}

/** The raw text of a timestamp field for messages. */
export function rawText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
}

/** A timestamp field: undefined when absent, NaN when present but unparsable, else epoch ms. */
export function time(v: unknown, parse: (v: unknown) => number): number | undefined {
  if (v === undefined || v === null || v === '' || v === '-') return undefined;
  return parse(v);
}
