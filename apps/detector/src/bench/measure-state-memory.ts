/**
 * Memory per idle entity: trains one realistic entity state per type, then keeps N copies (distinct keys, own
 * buffers) in a partition's idle map exactly as the engine does, and reports heap + array-buffer growth per entity.
 *
 *   node --expose-gc --import tsx apps/detector/src/bench/measure-state-memory.ts [entities=1000000] [case]
 *
 * Cases: ip, ip-auth, token, token-ip (one per process gives the cleanest numbers; all by default): 50 windows in one
 * hour, values 5–11. Mature cases ip-mature, token-mature: a window every hour for 15 days with values that vary by
 * hour and noise (every seasonal slot learned, full rings), the token with 2 known IPs, 1 ASN, 1 country; its
 * distinct-IP count is a constant 1 (the usual case for a token).
 */
import { DEFAULT_DETECTORS_CONFIG } from '../detectors/detector-config.js';
import { DetectionEngine } from '../engine/detection-engine.js';
import { EntityState, learnLocations } from '../engine/entity-state.js';
import { ENTITY_METRICS, type MetricName } from '../engine/metrics-catalog.js';
import type { EntityType } from '@vigil/contracts';

const N = Number(process.argv[2] ?? 1_000_000);
const only = process.argv[3];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const W = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);

function trained(type: EntityType, metrics: readonly MetricName[]): Uint8Array {
  const s = new EntityState(type, T0);
  for (let w = 0; w < 50; w++) {
    for (const m of metrics) s.baseline(m).update(5 + (w % 7), T0 + w * W);
    s.activeWindows += 1;
    s.lastSeen = T0 + w * W;
  }
  return s.encode();
}

/** Deterministic noise in [0, 1). */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

function mature(type: EntityType, metrics: readonly MetricName[]): Uint8Array {
  const s = new EntityState(type, T0);
  if (s.known) learnLocations(s.known, ['203.0.113.7', '198.51.100.23'], [3320], ['DE']);
  for (let w = 0; w < 15 * 24; w++) {
    const ws = T0 + w * 3_600_000;
    const hour = w % 24;
    for (const m of metrics) {
      const level = 20 + 15 * Math.sin((hour / 24) * 2 * Math.PI);
      const v = m === 'distinct_ips' ? 1 : m === 'bytes_out' ? Math.round(level * 2_000 * (0.7 + 0.6 * noise(w))) : Math.round(level * (0.7 + 0.6 * noise(w * 7 + m.length)));
      s.baseline(m).update(v, ws);
    }
    s.activeWindows += 1;
    s.lastSeen = ws;
  }
  return s.encode();
}

function measure(name: string, label: string, type: EntityType, metrics: readonly MetricName[], keyOf: (i: number) => string, train = trained): void {
  if (only && only !== name) return;
  const engine = new DetectionEngine({ windowMs: W, latenessMs: 5_000, maxEntities: N * 2, idleTtlMs: 7 * 86_400_000, detectors: DEFAULT_DETECTORS_CONFIG });
  const state = engine.newPartition('vigil.access-events', 0);
  const proto = train(type, metrics);
  gc!();
  const before = process.memoryUsage();
  // keys come concatenated, as the engine builds them; adoptRestoredEntity/release store flat copies
  for (let i = 0; i < N; i++) state.adoptRestoredEntity(keyOf(i), proto);
  gc!();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const slabs = after.arrayBuffers - before.arrayBuffers;
  void slabs;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  const per = (heap + buffers) / N;
  console.log(
    `${label.padEnd(44)} state ${String(proto.byteLength).padStart(4)} B | heap ${(heap / N).toFixed(0).padStart(4)} B + buffers ${(buffers / N).toFixed(0).padStart(4)} B = ${per.toFixed(0).padStart(4)} B/entity | ${N.toLocaleString('en-US')} entities: ${((heap + buffers) / 2 ** 30).toFixed(2)} GiB`,
  );
  if (state.entityCount !== N) throw new Error('lost entities');
}

console.log(`node ${process.version}, ${N.toLocaleString('en-US')} idle entities per case`);
measure('ip', 'ip (requests, distinct paths)', 'ip', ['requests', 'distinct_paths'], (i) => `acme|ip|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
measure('ip-auth', 'ip that failed logins (+ auth-failure baseline)', 'ip', ENTITY_METRICS.ip, (i) => `acme|ip|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
measure('token', 'token (requests, distinct IPs, bytes out)', 'token', ENTITY_METRICS.token, (i) => `acme|token|consumer-${i.toString(36).padStart(8, '0')}`);
measure('token-ip', 'token×ip (requests)', 'token_ip', ENTITY_METRICS.token_ip, (i) => `acme|token_ip|consumer-${(i >> 4).toString(36)}|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
measure('ip-mature', 'ip, mature (15 days, every slot, auth failures)', 'ip', ENTITY_METRICS.ip, (i) => `acme|ip|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, mature);
measure('token-mature', 'token, mature (15 days, every slot, 2 IPs)', 'token', ENTITY_METRICS.token, (i) => `acme|token|consumer-${i.toString(36).padStart(8, '0')}`, mature);
