import { ACCESS_EVENT_ENVELOPE_MIN_EVENTS, AccessEventEnvelopeBuilder, accessEventKey, type AccessEvent } from '@vigil/contracts';
import { partitionForKey, type OutboundMessage } from '@vigil/platform';

/**
 * The messages that publish `events` on `vigil.access-events` (see libs/contracts access-event-envelope.ts).
 *
 * With the topic's partition count known, events are grouped by the partition their key maps to (the bus's own
 * murmur2 partitioner, same partition count); a group of at least ACCESS_EVENT_ENVELOPE_MIN_EVENTS goes as envelopes
 * (within the contract's event and size limits: AccessEventEnvelopeBuilder), each keyed by
 * the key of its first event, so the partitioner puts it on the partition all its events' keys map to. Smaller groups,
 * and every event when the count is unknown (`partitions` null), go one event per message keyed by its own key.
 * Within a partition the events keep their order.
 */
export function accessEventMessages(events: readonly AccessEvent[], partitions: number | null): OutboundMessage[] {
  if (partitions === null || events.length < ACCESS_EVENT_ENVELOPE_MIN_EVENTS) {
    return events.map((e) => ({ key: accessEventKey(e), value: JSON.stringify(e) }));
  }
  const keys: string[] = new Array<string>(events.length);
  const groups: number[][] = Array.from({ length: partitions }, () => []);
  for (let i = 0; i < events.length; i++) {
    const key = accessEventKey(events[i]!);
    keys[i] = key;
    groups[partitionForKey(key, partitions)]!.push(i);
  }
  const out: OutboundMessage[] = [];
  for (const group of groups) {
    if (group.length < ACCESS_EVENT_ENVELOPE_MIN_EVENTS) {
      for (const i of group) out.push({ key: keys[i]!, value: JSON.stringify(events[i]) });
      continue;
    }
    const envelope = new AccessEventEnvelopeBuilder();
    let firstKey = '';
    for (const i of group) {
      const json = JSON.stringify(events[i]);
      if (!envelope.add(json)) {
        out.push({ key: firstKey, value: envelope.take() });
        envelope.add(json);
      }
      if (envelope.count === 1) firstKey = keys[i]!;
    }
    out.push({ key: firstKey, value: envelope.take() });
  }
  return out;
}
