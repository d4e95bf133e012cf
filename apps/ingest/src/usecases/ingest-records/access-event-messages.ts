import {
  ACCESS_EVENT_ENVELOPE_KIND,
  ACCESS_EVENT_ENVELOPE_MAX_CHARS,
  ACCESS_EVENT_ENVELOPE_MAX_EVENTS,
  ACCESS_EVENT_ENVELOPE_MIN_EVENTS,
  accessEventKey,
  type AccessEvent,
} from '@vigil/contracts';
import { partitionForKey, type OutboundMessage } from '@vigil/platform';

/**
 * The messages that publish `events` on `vigil.access-events` (see libs/contracts access-event-envelope.ts).
 *
 * With the topic's partition count known, events are grouped by the partition their key maps to (the bus's own
 * murmur2 partitioner, same partition count); a group of at least ACCESS_EVENT_ENVELOPE_MIN_EVENTS goes as envelopes
 * (within the contract's event and size limits), each keyed by the key of its first event, so the partitioner puts it
 * on the partition all its events' keys map to. Smaller groups, and every event when the count is unknown
 * (`partitions` null), go one event per message keyed by its own key. Within a partition the events keep their order.
 */
export function accessEventMessages(events: readonly AccessEvent[], partitions: number | null): OutboundMessage[] {
  if (partitions === null || events.length < ACCESS_EVENT_ENVELOPE_MIN_EVENTS) {
    return events.map((e) => ({ key: accessEventKey(e), value: JSON.stringify(e) }));
  }
  const groups: AccessEvent[][] = Array.from({ length: partitions }, () => []);
  // keys kept only for groups small enough to go one event per message (envelopes take their first event's key)
  const keys: (string | undefined)[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) {
    const key = accessEventKey(e);
    const p = partitionForKey(key, partitions);
    const group = groups[p]!;
    if (group.length < ACCESS_EVENT_ENVELOPE_MIN_EVENTS) keys[p]!.push(key);
    group.push(e);
  }
  const out: OutboundMessage[] = [];
  const sizer = new EnvelopeSizer();
  for (let p = 0; p < partitions; p++) {
    const group = groups[p]!;
    if (group.length < ACCESS_EVENT_ENVELOPE_MIN_EVENTS) {
      for (let i = 0; i < group.length; i++) out.push({ key: keys[p]![i]!, value: JSON.stringify(group[i]) });
      continue;
    }
    envelopes(group, out, sizer);
  }
  return out;
}

const PREFIX = `{"v":1,"kind":"${ACCESS_EVENT_ENVELOPE_KIND}","events":`;
/** Characters the events of one envelope may take: its JSON array (brackets and commas included). */
const ARRAY_BUDGET = ACCESS_EVENT_ENVELOPE_MAX_CHARS - PREFIX.length - 1;

/** Characters per event of the envelopes written so far (JSON array text / events), for the next envelope's size. */
class EnvelopeSizer {
  private chars = 0;
  private events = 0;

  perEvent(probe: () => number): number {
    return this.events === 0 ? probe() + 1 : this.chars / this.events;
  }

  record(chars: number, events: number): void {
    this.chars += chars;
    this.events += events;
  }
}

/**
 * One partition's events (in order) as envelopes. Each envelope's event array is one JSON.stringify of a slice (no
 * string per event, no concatenation): as many events as the characters per event seen so far say fit, fewer when
 * the text comes out over the limit (then the slice shrinks in proportion and is written again), so each envelope is
 * within about one event of ACCESS_EVENT_ENVELOPE_MAX_CHARS, or ACCESS_EVENT_ENVELOPE_MAX_EVENTS, or the group's end.
 * A single event larger than the limit goes alone. Keyed by its first event's key.
 */
function envelopes(group: readonly AccessEvent[], out: OutboundMessage[], sizer: EnvelopeSizer): void {
  let i = 0;
  while (i < group.length) {
    const left = group.length - i;
    const perEvent = sizer.perEvent(() => JSON.stringify(group[i]).length);
    let k = Math.min(left, ACCESS_EVENT_ENVELOPE_MAX_EVENTS, Math.max(1, Math.floor((ARRAY_BUDGET - 1) / perEvent)));
    let array = JSON.stringify(k === group.length ? group : group.slice(i, i + k));
    while (array.length > ARRAY_BUDGET && k > 1) {
      k = Math.max(1, Math.min(k - 1, Math.floor((k * ARRAY_BUDGET) / array.length)));
      array = JSON.stringify(group.slice(i, i + k));
    }
    sizer.record(array.length, k);
    out.push({ key: accessEventKey(group[i]!), value: PREFIX + array + '}' });
    i += k;
  }
}
