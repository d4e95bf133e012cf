import { Pacer, type ReplaySpeed } from './speed.js';
import type { Shipper } from './shippers.js';

export interface ReplayProgress {
  sent: number;
  accepted: number;
  rejected: number;
  /** Event time of the last record read (epoch ms), when known. */
  eventTs: number | undefined;
}

export interface ReplayOptions {
  records: AsyncIterable<string> | Iterable<string>;
  shipper: Shipper;
  /** Records per shipment. Default 500. */
  batchSize?: number;
  speed: ReplaySpeed;
  /** Event time of a raw record (epoch ms), or undefined when it has none / cannot be parsed. */
  timestampOf: (raw: string) => number | undefined;
  /** Local check of a record before sending: a rejection reason, or null when ingest should accept it. Optional. */
  precheck?: (raw: string) => string | null;
  onProgress?: (p: ReplayProgress) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplaySummary {
  /** Records read from the source and handed to the destination. */
  sent: number;
  /** Accepted by the destination (for Kafka: by the broker). */
  accepted: number;
  /** Rejected by the destination, with reasons. */
  rejected: number;
  reasons: Record<string, number>;
  /** Records the local check says ingest will reject, by reason (Kafka cannot tell). */
  locallyInvalid: Record<string, number>;
  /** Records without a readable timestamp (sent unpaced). */
  untimed: number;
  firstEventTs: number | null;
  lastEventTs: number | null;
  wallMs: number;
}

/** Pauses shorter than this are folded into the next one, so pacing does not cost a timer per record. */
const MIN_SLEEP_MS = 15;

/**
 * Read records in order and ship them in batches, paced by their event time when a speed factor is set
 * (a batch is shipped before each pause, so records never wait behind a sleep).
 */
export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const now = o.now ?? (() => Date.now());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const batchSize = o.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const pacer = new Pacer(o.speed, now);
  const started = now();
  const s: ReplaySummary = {
    sent: 0, accepted: 0, rejected: 0, reasons: {}, locallyInvalid: {}, untimed: 0, firstEventTs: null, lastEventTs: null, wallMs: 0,
  };
  let batch: string[] = [];
  let eventTs: number | undefined;
  const flush = async () => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    const r = await o.shipper.ship(records);
    s.sent += records.length;
    s.accepted += r.accepted;
    s.rejected += r.rejected;
    for (const [k, v] of Object.entries(r.reasons)) s.reasons[k] = (s.reasons[k] ?? 0) + v;
    o.onProgress?.({ sent: s.sent, accepted: s.accepted, rejected: s.rejected, eventTs });
  };
  try {
    for await (const raw of o.records) {
      const ts = o.timestampOf(raw);
      if (ts === undefined) s.untimed++;
      else {
        eventTs = ts;
        if (s.firstEventTs === null) s.firstEventTs = ts;
        s.lastEventTs = ts;
      }
      if (o.precheck) {
        const why = o.precheck(raw);
        if (why !== null) s.locallyInvalid[why] = (s.locallyInvalid[why] ?? 0) + 1;
      }
      const wait = pacer.delayFor(ts);
      if (wait >= MIN_SLEEP_MS) {
        await flush();
        await sleep(wait);
      }
      batch.push(raw);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    await o.shipper.close();
  }
  s.wallMs = now() - started;
  return s;
}
