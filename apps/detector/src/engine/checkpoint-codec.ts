import { PopulationBaseline } from '../detection/baseline.js';
import type { DetectionEngine } from './detection-engine.js';
import type { MetricName } from './metrics-catalog.js';
import { offsetNumber, type PartitionState } from './partition-state.js';
import type { FeedbackJson } from '../feedback/feedback-registry.js';

/**
 * A partition's detector state as bytes: a JSON header (offsets, watermark, anomaly ids already fired for open
 * windows, dedup marks, population baselines, held-back updates, false-positive feedback) followed by every entity's packed state:
 *
 *   u32 header length | header (UTF-8 JSON) | repeated: u16 key length | key (UTF-8) | u32 state length | state
 *
 * Open windows are not saved: the checkpoint's resume offset is the first offset of the oldest open window, so
 * they are rebuilt by replaying from there; windows already closed drop the replayed events as late.
 */
interface Header {
  v: 2;
  topic: string;
  partition: number;
  resumeOffset: string | null;
  lastProcessed: string | null;
  maxTs: number | null;
  closedThrough: number | null;
  fired: [number, string[]][];
  highwater: [number, string, number][];
  population: [string, string][];
  /** Held-back baseline updates: [entity key, metric, value, window start]. */
  pending: [string, MetricName, number, number][];
  /** The engine's false-positive feedback (suppressions, flagged windows), merged on restore. */
  feedback: FeedbackJson;
  entities: number;
}

export interface CheckpointMeta {
  resumeOffset: string | null;
  lastProcessed: string | null;
  entities: number;
}

export function encodeCheckpoint(engine: DetectionEngine, state: PartitionState): { bytes: Uint8Array; meta: CheckpointMeta } {
  const entries: [string, Uint8Array][] = [];
  for (const [k, v] of state.idleEntries()) entries.push([k, v]);
  for (const [k, h] of state.hot) entries.push([k, h.state.encode()]);
  const resume = state.resumeOffset();
  const header: Header = {
    v: 2,
    topic: state.topic,
    partition: state.partition,
    resumeOffset: resume === null ? null : resume.toString(),
    lastProcessed: state.lastProcessed === null ? null : state.lastProcessed.toString(),
    maxTs: Number.isFinite(state.watermark.maxEventTime) ? state.watermark.maxEventTime : null,
    closedThrough: Number.isFinite(state.closedThrough) ? state.closedThrough : null,
    fired: [...state.firedIds].map(([ws, ids]) => [ws, [...ids]]),
    highwater: [...state.highwater].map(([p, h]) => [p, h.offset.toString(), h.seq]),
    population: [...state.population].map(([k, p]) => [k, Buffer.from(p.toState().buffer).toString('base64')]),
    pending: state.pending.map((u) => [u.key, u.metric, u.value, u.windowStart]),
    feedback: engine.feedback.toJSON(),
    entities: entries.length,
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  let size = 4 + head.length;
  const keys = entries.map(([k]) => Buffer.from(k, 'utf8'));
  entries.forEach(([, v], i) => (size += 2 + keys[i]!.length + 4 + v.byteLength));
  const out = Buffer.allocUnsafe(size);
  let off = out.writeUInt32LE(head.length, 0);
  off += head.copy(out, off);
  entries.forEach(([, v], i) => {
    const key = keys[i]!;
    off = out.writeUInt16LE(key.length, off);
    off += key.copy(out, off);
    off = out.writeUInt32LE(v.byteLength, off);
    out.set(v, off);
    off += v.byteLength;
  });
  return { bytes: out, meta: { resumeOffset: header.resumeOffset, lastProcessed: header.lastProcessed, entities: entries.length } };
}

export function decodeCheckpoint(engine: DetectionEngine, bytes: Uint8Array): { state: PartitionState; meta: CheckpointMeta } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.toString('utf8', 4, 4 + headLen)) as Header;
  if (header.v !== 2) throw new Error(`detector checkpoint: unknown version ${String(header.v)}`);
  const state = engine.newPartition(header.topic, header.partition);
  if (header.maxTs !== null) state.watermark.observe(header.maxTs);
  if (header.closedThrough !== null) state.closedThrough = header.closedThrough;
  state.lastProcessed = header.lastProcessed === null ? null : BigInt(header.lastProcessed);
  state.replayUntil = state.lastProcessed;
  for (const [ws, ids] of header.fired) state.firedIds.set(ws, new Set(ids));
  for (const [p, o, seq] of header.highwater) state.highwater.set(p, { offset: offsetNumber(o), seq });
  for (const [k, b64] of header.population) {
    const raw = Buffer.from(b64, 'base64');
    state.population.set(k, new PopulationBaseline(undefined, new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))));
  }
  state.pending = header.pending.map(([key, metric, value, windowStart]) => ({ key, metric, value, windowStart }));
  engine.feedback.merge(header.feedback);
  let off = 4 + headLen;
  for (let i = 0; i < header.entities; i++) {
    const kl = buf.readUInt16LE(off);
    off += 2;
    const key = buf.toString('utf8', off, off + kl);
    off += kl;
    const vl = buf.readUInt32LE(off);
    off += 4;
    state.adoptRestoredEntity(key, buf.subarray(off, off + vl));
    off += vl;
  }
  return { state, meta: { resumeOffset: header.resumeOffset, lastProcessed: header.lastProcessed, entities: header.entities } };
}
