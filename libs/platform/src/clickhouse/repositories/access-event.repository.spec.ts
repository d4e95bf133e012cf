import { anAccessEvent } from '@vigil/testing';
import { tsvBody, tsvRow, tsvString } from './access-event.repository.js';

describe('access events as TabSeparated', () => {
  it.each<[string, string, string]>([
    ['plain text', 'GET /v1/orders', 'GET /v1/orders'],
    ['backslash', 'a\\b', 'a\\\\b'],
    ['tab', 'a\tb', 'a\\tb'],
    ['line feed', 'a\nb', 'a\\nb'],
    ['carriage return', 'a\r\nb', 'a\\r\\nb'],
    ['NUL', 'a\u0000b', 'a\\0b'],
    ['TSV null marker stays a two-character string', '\\N', '\\\\N'],
    ['quotes and UTF-8 verbatim', `'"🚀日本`, `'"🚀日本`],
  ])('escapes %s', (_label, value, escaped) => {
    expect(tsvString(value)).toBe(escaped);
  });

  it('writes one line of 21 fields per event, in the insert column order', () => {
    const e = { ...anAccessEvent(), id: 'ev-1', tenant: 'acme', ts: 1_715_684_400_123, status: 404, latencyMs: 12.5, asn: 13335, userAgent: 'x\ty' };
    const fields = tsvRow(e).slice(0, -1).split('\t');
    expect(fields).toHaveLength(21);
    expect(fields.slice(0, 3)).toEqual(['ev-1', 'acme', '1715684400123']);
    expect(fields[9]).toBe('404');
    expect(fields[10]).toBe('12.5');
    expect(fields[13]).toBe('x\\ty');
    expect(fields[18]).toBe('13335');
    expect(tsvRow(e).endsWith('\n')).toBe(true);
  });

  it('refuses numbers that would not read back as the same value', () => {
    expect(() => tsvRow({ ...anAccessEvent(), bytesOut: -1 })).toThrow(/bytes_out/);
    expect(() => tsvRow({ ...anAccessEvent(), ts: 1.5 })).toThrow(/ts/);
    expect(() => tsvRow({ ...anAccessEvent(), latencyMs: Number.NaN })).toThrow(/latency_ms/);
  });

  it('encodes a batch as UTF-8, growing past its first guess for long rows', () => {
    const long = '日'.repeat(100_000);
    const events = [anAccessEvent({ id: 'a' }), { ...anAccessEvent({ id: 'b' }), userAgent: long }, anAccessEvent({ id: 'c' })];
    const body = tsvBody(events);
    expect(body.toString('utf8')).toBe(events.map(tsvRow).join(''));
  });
});
