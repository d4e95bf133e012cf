import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_EVENT_ENVELOPE_MAX_CHARS,
  AccessEventEnvelopeBuilder,
  ACCESS_EVENT_ENVELOPE_MIN_EVENTS,
  accessEventKey,
  decodeAccessEventMessage,
  type AccessEvent,
} from '@vigil/contracts';
import { partitionForKey, type OutboundMessage } from '@vigil/platform';
import { anAccessEvent } from '@vigil/testing';
import { accessEventMessages } from './access-event-messages.js';

/** Events of `ips` client IPs over two tenants, several per IP, in a mixed order. */
function events(n: number, ips: number): AccessEvent[] {
  return Array.from({ length: n }, (_, i) => anAccessEvent({ tenant: i % 7 === 0 ? 'globex' : 'acme', clientIp: `198.51.${(i * 31) % ips >> 8}.${((i * 31) % ips) & 255}` }));
}

/** Per partition, the events in the order they were published, checking every message on the way. */
function delivered(messages: OutboundMessage[], partitions: number): Map<number, AccessEvent[]> {
  const out = new Map<number, AccessEvent[]>();
  const wrong: string[] = [];
  for (const m of messages) {
    if (m.key === null) wrong.push('a message without a key');
    const p = partitionForKey(m.key ?? '', partitions);
    const { events: es, invalid } = decodeAccessEventMessage(m.value);
    wrong.push(...invalid);
    if (m.value.length > ACCESS_EVENT_ENVELOPE_MAX_CHARS) wrong.push(`a message of ${m.value.length} characters`);
    for (const e of es) {
      // every event lands on the partition of its own key, whatever message carries it
      if (partitionForKey(accessEventKey(e), partitions) !== p) wrong.push(`${e.id} (${accessEventKey(e)}) sent to partition ${p} with key ${m.key}`);
      let list = out.get(p);
      if (!list) out.set(p, (list = []));
      list.push(e);
    }
  }
  expect(wrong).toEqual([]);
  return out;
}

/** Per partition, the events in batch order. */
const byPartition = (es: AccessEvent[], partitions: number) => {
  const out = new Map<number, AccessEvent[]>();
  for (const e of es) {
    const p = partitionForKey(accessEventKey(e), partitions);
    let list = out.get(p);
    if (!list) out.set(p, (list = []));
    list.push(e);
  }
  return out;
};

/** Ids per partition (a compact comparison of large batches). */
const ids = (m: Map<number, AccessEvent[]>) => new Map([...m].map(([p, es]) => [p, es.map((e) => e.id)]));

describe(accessEventMessages.name, () => {
  it('sends one event per message keyed by tenant|ip when the partition count is unknown', () => {
    const es = events(100, 1000);
    expect(accessEventMessages(es, null)).toEqual(es.map((e) => ({ key: `${e.tenant}|${e.clientIp}`, value: JSON.stringify(e) })));
  });

  it('sends a small batch one event per message', () => {
    const es = events(ACCESS_EVENT_ENVELOPE_MIN_EVENTS - 1, 1000);
    expect(accessEventMessages(es, 6)).toEqual(es.map((e) => ({ key: accessEventKey(e), value: JSON.stringify(e) })));
  });

  it.each([1, 6])('groups a batch by partition (%i partitions): every event once, on its key’s partition, in order', (partitions) => {
    const es = events(1200, 1000);
    const messages = accessEventMessages(es, partitions);
    expect(messages.length).toBeLessThan(es.length / 20);
    const got = delivered(messages, partitions);
    expect(ids(got)).toEqual(ids(byPartition(es, partitions)));
    const byId = (a: AccessEvent, b: AccessEvent) => (a.id < b.id ? -1 : 1);
    expect([...got.values()].flat().sort(byId)).toEqual([...es].sort(byId));
  });

  it('sends the partitions with few events one event per message, the others in envelopes', () => {
    // 60 events of one IP (one partition) and 3 of another IP on another partition
    const a = Array.from({ length: 60 }, () => anAccessEvent({ clientIp: '203.0.113.1' }));
    const other = ['203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'].find((ip) => partitionForKey(`acme|${ip}`, 6) !== partitionForKey('acme|203.0.113.1', 6))!;
    const b = Array.from({ length: 3 }, () => anAccessEvent({ clientIp: other }));
    const es = [...a.slice(0, 30), ...b, ...a.slice(30)];
    const messages = accessEventMessages(es, 6);
    const single = messages.filter((m) => !m.value.startsWith('{"v":1,"kind"'));
    expect(single.map((m) => JSON.parse(m.value) as AccessEvent)).toEqual(b);
    expect(messages).toHaveLength(1 + 3);
    expect(delivered(messages, 6)).toEqual(byPartition(es, 6));
  });

  it('starts another envelope when the next event would take it past the size limit', () => {
    const many = Array.from({ length: 500 }, () => anAccessEvent({ clientIp: '203.0.113.1' }));
    const messages = accessEventMessages(many, 6);
    const sizes = messages.map((m) => m.value.length);
    const one = JSON.stringify(many[0]).length;
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(ACCESS_EVENT_ENVELOPE_MAX_CHARS - one - 16);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(ACCESS_EVENT_ENVELOPE_MAX_CHARS);
    expect(messages.map((m) => decodeAccessEventMessage(m.value).events.map((e) => e.id)).flat()).toEqual(many.map((e) => e.id));
    // an event larger than the limit goes alone
    const big = Array.from({ length: 20 }, (_, i) => anAccessEvent({ clientIp: '203.0.113.1', ...(i % 5 === 0 ? { userAgent: 'u'.repeat(2000), query: 'q'.repeat(8000), path: `/${'p'.repeat(8000)}` } : {}) }));
    const bigMessages = accessEventMessages(big, 6);
    expect(bigMessages.length).toBeGreaterThan(1);
    expect(bigMessages.map((m) => decodeAccessEventMessage(m.value).events.map((e) => e.id)).flat()).toEqual(big.map((e) => e.id));
  });

  it('fills envelopes of events of varied sizes about as well as packing them one by one would, each within the limit', () => {
    // 3,000 events of one IP, their paths 1 to 3,000 characters long in a shuffled order
    const es = Array.from({ length: 3000 }, (_, i) => anAccessEvent({ clientIp: '203.0.113.1', path: `/${'p'.repeat((i * 7919) % 3000)}` }));
    const messages = accessEventMessages(es, 6);
    expect(messages.map((m) => decodeAccessEventMessage(m.value).events.map((e) => e.id)).flat()).toEqual(es.map((e) => e.id));
    for (const m of messages) {
      expect(m.value.length).toBeLessThanOrEqual(ACCESS_EVENT_ENVELOPE_MAX_CHARS);
      expect(JSON.parse(m.value)).toEqual({ v: 1, kind: 'access-events', events: expect.any(Array) });
    }
    // what adding the events one at a time (AccessEventEnvelopeBuilder) needs
    const builder = new AccessEventEnvelopeBuilder();
    let greedy = 0;
    for (const e of es) {
      if (!builder.add(JSON.stringify(e))) {
        greedy++;
        builder.take();
        builder.add(JSON.stringify(e));
      }
    }
    greedy++;
    expect(messages.length).toBeLessThanOrEqual(Math.ceil(greedy * 1.1));
  });
});
