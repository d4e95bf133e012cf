import {
  ACCESS_EVENT_ENVELOPE_MAX_CHARS,
  ACCESS_EVENT_ENVELOPE_MAX_EVENTS,
  ACCESS_EVENT_ENVELOPE_MIN_EVENTS,
  accessEventKey,
  wrapAccessEventJson,
  type AccessEvent,
} from '@vigil/contracts';
import { partitionForKey, type OutboundMessage } from '@vigil/platform';

/**
 * The messages that publish `events` on `vigil.access-events` (see libs/contracts access-event-envelope.ts).
 *
 * With the topic's partition count known, events are grouped by the partition their key maps to (the bus's own
 * murmur2 partitioner, same partition count); a group of at least ACCESS_EVENT_ENVELOPE_MIN_EVENTS goes as envelopes
 * (up to ACCESS_EVENT_ENVELOPE_MAX_EVENTS events / ACCESS_EVENT_ENVELOPE_MAX_CHARS characters each), each keyed by
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
    let json: string[] = [];
    let chars = 0;
    let firstKey = '';
    for (const i of group) {
      const s = JSON.stringify(events[i]);
      if (json.length > 0 && (json.length === ACCESS_EVENT_ENVELOPE_MAX_EVENTS || chars + s.length > ACCESS_EVENT_ENVELOPE_MAX_CHARS)) {
        out.push({ key: firstKey, value: wrapAccessEventJson(json) });
        json = [];
        chars = 0;
      }
      if (json.length === 0) firstKey = keys[i]!;
      json.push(s);
      chars += s.length + 1;
    }
    out.push({ key: firstKey, value: wrapAccessEventJson(json) });
  }
  return out;
}
