import type { AccessEvent } from '@vigil/contracts';
import { anAccessEvent } from '@vigil/testing';
import { rowBinaryBody } from './access-event.repository.js';

/** Reads RowBinary rows of the access_events insert columns back (the layout ClickHouse reads). */
function readRows(body: Buffer): AccessEvent[] {
  let pos = 0;
  const varUInt = (): number => {
    let v = 0;
    for (let shift = 1; ; shift *= 0x80) {
      const b = body[pos++]!;
      v += (b & 0x7f) * shift;
      if (b < 0x80) return v;
    }
  };
  const str = (): string => {
    const n = varUInt();
    const s = body.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  const u64 = (): number => {
    const v = body.readUInt32LE(pos) + body.readUInt32LE(pos + 4) * 0x1_0000_0000;
    pos += 8;
    return v;
  };
  const rows: AccessEvent[] = [];
  while (pos < body.length) {
    const id = str(), tenant = str(), ts = u64(), format = str() as AccessEvent['format'], clientIp = str(), method = str();
    const path = str(), query = str(), route = str();
    const status = body.readUInt16LE(pos);
    const latencyMs = body.readDoubleLE(pos + 2);
    pos += 10;
    const bytesIn = u64(), bytesOut = u64(), userAgent = str(), apiVersion = str(), tls = str(), tokenId = str(), country = str();
    const asn = body.readUInt32LE(pos);
    pos += 4;
    const requestId = str(), host = str();
    rows.push({ v: 1, id, tenant, ts, format, clientIp, method, path, query, route, status, latencyMs, bytesIn, bytesOut, userAgent, apiVersion, tls, tokenId, country, asn, requestId, host });
  }
  return rows;
}

describe('access events as RowBinary', () => {
  it.each<[string, string]>([
    ['plain ASCII', 'GET /v1/orders'],
    ['empty', ''],
    ['TSV specials and NUL verbatim', 'a\\b\tc\nd\r\ne\u0000f\\N'],
    ['quotes and UTF-8', `'"🚀日本`],
    ['127 ASCII characters (one length byte)', 'a'.repeat(127)],
    ['128 ASCII characters (two length bytes)', 'a'.repeat(128)],
    ['non-ASCII whose reserved length is longer than its own', `é${'a'.repeat(60)}`],
    ['100,000 three-byte characters', '日'.repeat(100_000)],
    ['23 ASCII characters (loop)', 'b'.repeat(23)],
    ['24 ASCII characters (Buffer.write)', 'c'.repeat(24)],
    ['short non-ASCII (loop, then Buffer.write)', 'é日'],
    ['long ASCII then non-ASCII at the end', `${'d'.repeat(40)}é`],
    ['43 two-byte characters (86 bytes, one length byte)', 'é'.repeat(43)],
    ['64 two-byte characters (128 bytes, two length bytes)', 'é'.repeat(64)],
  ])('writes a string field that reads back the same: %s', (_label, value) => {
    const e = { ...anAccessEvent(), userAgent: value, path: value };
    expect(readRows(rowBinaryBody([e]))).toEqual([e]);
  });

  it('writes lone surrogates as U+FFFD, as Buffer.from does', () => {
    for (const value of ['a\ud800b', `a\ud800b${'x'.repeat(30)}\udfff`]) {
      const e = { ...anAccessEvent(), userAgent: value };
      expect(readRows(rowBinaryBody([e]))).toEqual([{ ...e, userAgent: Buffer.from(value).toString('utf8') }]);
    }
  });

  it('writes every field of a batch in the insert column order, numbers little-endian', () => {
    const events = [
      { ...anAccessEvent(), id: 'ev-1', ts: 1_715_684_400_123, status: 404, latencyMs: 12.5, asn: 13335, bytesOut: 2 ** 40 + 7 },
      { ...anAccessEvent(), id: 'ev-2', ts: Number.MAX_SAFE_INTEGER, status: 65535, latencyMs: 0, asn: 0xffff_ffff, bytesIn: 0 },
      anAccessEvent(),
    ];
    const body = rowBinaryBody(events);
    expect(readRows(body)).toEqual(events);
    // first row: id (length 4, 'ev-1'), tenant, then ts as UInt64
    expect(body.subarray(0, 5)).toEqual(Buffer.from([4, ...Buffer.from('ev-1')]));
  });

  it('refuses numbers that would not read back as the same value', () => {
    expect(() => rowBinaryBody([{ ...anAccessEvent(), bytesOut: -1 }])).toThrow(/bytes_out/);
    expect(() => rowBinaryBody([{ ...anAccessEvent(), ts: 1.5 }])).toThrow(/ts/);
    expect(() => rowBinaryBody([{ ...anAccessEvent(), latencyMs: Number.NaN }])).toThrow(/latency_ms/);
    expect(() => rowBinaryBody([{ ...anAccessEvent(), status: 70_000 }])).toThrow(/status/);
    expect(() => rowBinaryBody([{ ...anAccessEvent(), asn: 2 ** 32 }])).toThrow(/asn/);
  });

  it('grows past its first guess for long rows', () => {
    const events = Array.from({ length: 20 }, (_, i) => ({ ...anAccessEvent(), userAgent: `ua-${i}-${'x'.repeat(5_000)}` }));
    expect(readRows(rowBinaryBody(events))).toEqual(events);
  });
});
