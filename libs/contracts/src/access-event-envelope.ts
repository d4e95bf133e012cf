import { z } from 'zod';
import { AccessEvent } from './access-event.js';
import { validate } from './common.js';

/**
 * Several AccessEvents in one message on `vigil.access-events`. Ingest groups the events of a batch by the partition
 * their key (`accessEventKey`) maps to, and sends a group of at least ACCESS_EVENT_ENVELOPE_MIN_EVENTS as envelopes
 * keyed by one of its events' keys, so every event still lands on its own key's partition (each IP's detector state
 * lives on one partition) and keeps its order there. Smaller groups go as one plain AccessEvent per message, as before;
 * consumers read both forms (`decodeAccessEventMessage`), so a topic written before an upgrade is still read.
 *
 * Why: Kafka costs are per record (kafkajs encodes and decodes each one, the broker and every consumer handle each
 * one), and a 1 KB gateway log becomes a ~0.5 KB event: per-record work was a large part of ingest's CPU.
 */
export const ACCESS_EVENT_ENVELOPE_KIND = 'access-events';
/** A partition's group of a batch smaller than this is published as plain single-event messages. */
export const ACCESS_EVENT_ENVELOPE_MIN_EVENTS = 16;
/** Events per envelope at most. */
export const ACCESS_EVENT_ENVELOPE_MAX_EVENTS = 256;
/**
 * Characters of an envelope at most, unless its single event is larger alone. 64 Ki: V8 and Node handle strings and
 * buffers from 128 KiB up in their large-object space, and building one costs several times more per byte (measured:
 * JSON + UTF-8 encoding of 256-event / 130 KB envelopes 7 µs per event, of 32-128-event ones 1.7-1.9 µs). Also far
 * below the broker's default 1 MB message limit (at most 3 UTF-8 bytes per character).
 */
export const ACCESS_EVENT_ENVELOPE_MAX_CHARS = 64 * 1024;
/** The envelope's frame. Its events are validated one by one (one bad event does not cost the others). */
export const AccessEventEnvelope = z.object({
  v: z.literal(1),
  kind: z.literal(ACCESS_EVENT_ENVELOPE_KIND),
  events: z.array(z.unknown()).min(1).max(ACCESS_EVENT_ENVELOPE_MAX_EVENTS),
});
export type AccessEventEnvelope = { v: 1; kind: typeof ACCESS_EVENT_ENVELOPE_KIND; events: AccessEvent[] };

const PREFIX = `{"v":1,"kind":"${ACCESS_EVENT_ENVELOPE_KIND}","events":[`;

/**
 * Builds the wire form of one envelope from events already in JSON (JSON.stringify of each AccessEvent), in order,
 * within ACCESS_EVENT_ENVELOPE_MAX_EVENTS and ACCESS_EVENT_ENVELOPE_MAX_CHARS: the text JSON.stringify(envelope)
 * gives, without building the envelope object or stringifying twice.
 */
export class AccessEventEnvelopeBuilder {
  private text = PREFIX;
  private n = 0;

  get count(): number {
    return this.n;
  }

  /** Adds the event if it fits (a first event always does); false when the envelope is full. */
  add(eventJson: string): boolean {
    if (this.n > 0 && (this.n === ACCESS_EVENT_ENVELOPE_MAX_EVENTS || this.text.length + eventJson.length + 3 > ACCESS_EVENT_ENVELOPE_MAX_CHARS)) return false;
    this.text += this.n === 0 ? eventJson : ',' + eventJson;
    this.n += 1;
    return true;
  }

  /** The envelope's text (at least one event added), and the builder emptied for the next one. */
  take(): string {
    if (this.n === 0) throw new RangeError('an access event envelope holds at least one event');
    const s = this.text + ']}';
    this.text = PREFIX;
    this.n = 0;
    return s;
  }
}

/** Wire form of one envelope of `events` (1..ACCESS_EVENT_ENVELOPE_MAX_EVENTS, in order; no size limit applied). */
export function encodeAccessEventEnvelope(events: readonly AccessEvent[]): string {
  if (events.length < 1 || events.length > ACCESS_EVENT_ENVELOPE_MAX_EVENTS) {
    throw new RangeError(`an access event envelope holds 1..${ACCESS_EVENT_ENVELOPE_MAX_EVENTS} events (got ${events.length})`);
  }
  return JSON.stringify({ v: 1, kind: ACCESS_EVENT_ENVELOPE_KIND, events });
}

/** One message of `vigil.access-events` decoded: its valid events in order, and a reason per invalid part. */
export interface DecodedAccessEvents {
  events: AccessEvent[];
  /** Empty when the whole message is valid; `events.<i>: ...` for an invalid event inside an envelope. */
  invalid: string[];
}

/**
 * Decodes a message of `vigil.access-events` in either form: a plain AccessEvent (what ingest wrote before envelopes
 * and still writes for small groups) or an AccessEventEnvelope. Every event is validated against AccessEvent.
 */
export function decodeAccessEventMessage(value: string): DecodedAccessEvents {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { events: [], invalid: ['invalid JSON'] };
  }
  if (parsed !== null && typeof parsed === 'object' && 'kind' in parsed) {
    const frame = validate(AccessEventEnvelope, parsed);
    if (!frame.ok) return { events: [], invalid: [`envelope: ${frame.reason}`] };
    const events: AccessEvent[] = [];
    const invalid: string[] = [];
    const items = frame.value.events;
    for (let i = 0; i < items.length; i++) {
      const r = validate(AccessEvent, items[i]);
      if (r.ok) events.push(r.value);
      else invalid.push(`events.${i}: ${r.reason}`);
    }
    return { events, invalid };
  }
  const r = validate(AccessEvent, parsed);
  return r.ok ? { events: [r.value], invalid: [] } : { events: [], invalid: [r.reason] };
}
