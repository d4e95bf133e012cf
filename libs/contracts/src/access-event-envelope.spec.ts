import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_EVENT_ENVELOPE_MAX_EVENTS,
  AccessEvent,
  decodeAccessEventMessage,
  encodeAccessEventEnvelope,
  AccessEventEnvelopeBuilder,
  ACCESS_EVENT_ENVELOPE_MAX_CHARS,
} from '@vigil/contracts';

const event = (i: number): AccessEvent => ({
  v: 1, id: `e${i}`, tenant: 't', ts: 1_700_000_000_000 + i, format: 'nginx', clientIp: `203.0.113.${i % 250}`, method: 'GET',
  path: `/v1/orders/${i}`, query: '', route: '/v1/orders/:id', status: 200, latencyMs: 12.5, bytesIn: 0, bytesOut: 512,
  userAgent: 'curl/8 "quoted" \u00e9\u2028', apiVersion: 'v1', tls: 'TLSv1.3', tokenId: '', country: '', asn: 0, requestId: '', host: '',
});

describe('access event envelope', () => {
  it('is written as JSON.stringify would write the envelope object', () => {
    const events = [event(1), event(2), event(3)];
    expect(encodeAccessEventEnvelope(events)).toBe(JSON.stringify({ v: 1, kind: 'access-events', events }));
    const b = new AccessEventEnvelopeBuilder();
    for (const e of events) expect(b.add(JSON.stringify(e))).toBe(true);
    expect(b.take()).toBe(encodeAccessEventEnvelope(events));
    expect(b.count).toBe(0);
    expect(() => b.take()).toThrow(RangeError);
  });

  it('builds envelopes within the event and size limits, a larger event alone', () => {
    const b = new AccessEventEnvelopeBuilder();
    const small = JSON.stringify(event(1));
    let n = 0;
    while (b.add(small)) n += 1;
    const full = b.take();
    expect(full.length).toBeLessThanOrEqual(ACCESS_EVENT_ENVELOPE_MAX_CHARS);
    expect(full.length + small.length + 1).toBeGreaterThan(ACCESS_EVENT_ENVELOPE_MAX_CHARS);
    expect(decodeAccessEventMessage(full).events).toHaveLength(Math.min(n, ACCESS_EVENT_ENVELOPE_MAX_EVENTS));
    const huge = JSON.stringify({ ...event(2), path: `/${'p'.repeat(ACCESS_EVENT_ENVELOPE_MAX_CHARS)}` });
    expect(b.add(huge)).toBe(true);
    expect(b.add(small)).toBe(false);
    expect(decodeAccessEventMessage(b.take()).invalid).toEqual([expect.stringMatching(/^events\.0: path: /)]);
  });

  it('decodes an envelope to its events in order', () => {
    const events = Array.from({ length: 40 }, (_, i) => event(i));
    expect(decodeAccessEventMessage(encodeAccessEventEnvelope(events))).toEqual({ events, invalid: [] });
  });

  it('decodes the single-event form (messages written before envelopes)', () => {
    expect(decodeAccessEventMessage(JSON.stringify(event(7)))).toEqual({ events: [event(7)], invalid: [] });
  });

  it('keeps the valid events of an envelope and names each invalid one by its index', () => {
    const good = [event(1), event(2)];
    const value = JSON.stringify({ v: 1, kind: 'access-events', events: [good[0], { ...event(9), status: 99 }, good[1], 'nope'] });
    const r = decodeAccessEventMessage(value);
    expect(r.events).toEqual(good);
    expect(r.invalid).toHaveLength(2);
    expect(r.invalid[0]).toMatch(/^events\.1: status: /);
    expect(r.invalid[1]).toMatch(/^events\.3: /);
  });

  it.each([
    ['invalid JSON', '{"v":1,', /^invalid JSON$/],
    ['an invalid single event', JSON.stringify({ ...event(1), status: 600 }), /^status: /],
    ['an envelope of another version', JSON.stringify({ v: 2, kind: 'access-events', events: [event(1)] }), /^envelope: v: /],
    ['an envelope of another kind', JSON.stringify({ v: 1, kind: 'anomalies', events: [event(1)] }), /^envelope: kind: /],
    ['an empty envelope', JSON.stringify({ v: 1, kind: 'access-events', events: [] }), /^envelope: events: /],
    ['an envelope without an events array', JSON.stringify({ v: 1, kind: 'access-events', events: {} }), /^envelope: events: /],
    ['null', 'null', /./],
  ])('rejects %s with a reason', (_what, value, reason) => {
    const r = decodeAccessEventMessage(value);
    expect(r.events).toEqual([]);
    expect(r.invalid).toHaveLength(1);
    expect(r.invalid[0]).toMatch(reason);
  });

  it('refuses to write an empty or oversized envelope, and to read one', () => {
    expect(() => encodeAccessEventEnvelope([])).toThrow(RangeError);
    const many = Array.from({ length: ACCESS_EVENT_ENVELOPE_MAX_EVENTS + 1 }, (_, i) => event(i));
    expect(() => encodeAccessEventEnvelope(many)).toThrow(RangeError);
    expect(decodeAccessEventMessage(JSON.stringify({ v: 1, kind: 'access-events', events: many })).invalid[0]).toMatch(/^envelope: events: /);
    expect(decodeAccessEventMessage(encodeAccessEventEnvelope(many.slice(1))).events).toHaveLength(ACCESS_EVENT_ENVELOPE_MAX_EVENTS);
  });
});
