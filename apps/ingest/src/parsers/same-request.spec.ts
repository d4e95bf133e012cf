import { AccessEvent, LogFormat, validate } from '@vigil/contracts';
import {
  CANNOT_CARRY, EXPECTED, GATEWAY_ROUTES, HASH_KEY, NOW, SAME_REQUEST, TENANT, TRUSTED_PROXIES,
} from '../../test-fixtures/same-request.js';
import { detectFormat, parseRecord } from './index.js';
import type { ParseContext } from './types.js';

const ctx: ParseContext = { tenant: TENANT, now: NOW, trustedProxies: TRUSTED_PROXIES, hashKey: HASH_KEY, routeSource: 'template' };
const formats = LogFormat.options;

function parsed(format: LogFormat, c: ParseContext = ctx): AccessEvent {
  const r = parseRecord(SAME_REQUEST[format], c);
  if (!r.ok) throw new Error(`${format}: ${r.reason}: ${r.message}`);
  return r.event;
}

describe('the same request logged by every gateway format', () => {
  it('has a fixture for every format', () => {
    expect(Object.keys(SAME_REQUEST).sort()).toEqual([...formats].sort());
  });

  it.each(formats)('%s is detected as its own format', (format) => {
    expect(detectFormat(SAME_REQUEST[format])).toBe(format);
  });

  it.each(formats)('%s normalises to the same AccessEvent, except what the format cannot carry', (format) => {
    const { requestId, differs } = CANNOT_CARRY[format];
    const { id, ...event } = parsed(format);
    expect(event).toEqual({ ...EXPECTED, ...differs, format, requestId });
    expect(id).toMatch(requestId === '' ? /^c_[0-9a-f]{32}$/ : /^r_[0-9a-f]{32}$/);
  });

  it.each(formats)('%s passes the AccessEvent schema', (format) => {
    expect(validate(AccessEvent, parsed(format))).toEqual({ ok: true, value: parsed(format) });
  });

  it('differs only in latency precision, request-size semantics and fields listed as not carried', () => {
    const differing = new Set(formats.flatMap((f) => Object.keys(CANNOT_CARRY[f].differs)));
    expect([...differing].sort()).toEqual(['bytesIn', 'bytesOut', 'host', 'latencyMs', 'query', 'tls']);
    for (const f of formats) expect(Math.abs(parsed(f).latencyMs - EXPECTED.latencyMs)).toBeLessThanOrEqual(0.5);
  });

  it.each(formats)('%s uses the gateway route name by default, else the path template', (format) => {
    const { routeSource: _ignored, ...defaults } = ctx;
    expect(parsed(format, defaults).route).toBe(GATEWAY_ROUTES[format]);
  });

  it.each(formats)('%s gets the same id when the record is delivered again', (format) => {
    expect(parsed(format).id).toBe(parsed(format).id);
    const again = parseRecord(SAME_REQUEST[format] + '\n', ctx);
    expect(again.ok && again.event.id).toBe(parsed(format).id);
  });

  it('gives each format and each tenant its own id space', () => {
    const ids = new Set(formats.map((f) => parsed(f).id));
    expect(ids.size).toBe(formats.length);
    expect(parsed('nginx', { ...ctx, tenant: 'other' }).id).not.toBe(parsed('nginx').id);
  });
});
