import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { InboundMessage, KafkaEventBus, Subscription } from '@vigil/platform';
import { TrafficPlan, testEndpoints, uniqueName, waitFor } from '@vigil/testing';
import { testKafkaBus } from '../fixtures/kafka-bus.js';

const run = promisify(execFile);
const ROOT = resolve(process.cwd());
/** The compiled `vigil` CLI (what `npm run replay` runs after tsc -b). */
const CLI = join(ROOT, 'apps', 'standalone', 'dist', 'cli', 'vigil.js');

/**
 * `vigil replay`, run as a user runs it (the compiled CLI, real arguments), shipping a generated gateway log into a
 * real Kafka topic; a consumer then reads the topic back.
 */
describe('vigil replay --kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-int-'));
  let bus: KafkaEventBus;
  let sub: Subscription | null = null;

  beforeAll(() => {
    bus = testKafkaBus('vigil-replay-test');
  });
  afterAll(async () => {
    await sub?.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('produces every record of a gzip-compressed generated log to the topic, verbatim, with the tenant and format headers', async () => {
    // Small enough to stay well inside what the test broker retains per partition.
    const plan = new TrafficPlan({ seed: 7, rps: 4, durationMs: 10 * 60_000, format: 'kong', attacks: ['brute_force', 'injection'], start: Date.now() - 3_600_000 });
    const records = Array.from(plan.records());
    const lines = records.map((r) => r.raw);
    expect(lines.length).toBeGreaterThan(2_000);
    const file = join(dir, 'traffic.ndjson.gz');
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const topic = uniqueName('vigil.replay-int');

    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, 'replay', file, '--kafka', testEndpoints().kafkaBrokers.join(','), '--topic', topic, '--tenant', 'acme', '--format', 'kong', '--batch', '250', '--json'],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 16 << 20 },
    );
    expect(stderr).toBe('');
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      sent: lines.length, accepted: lines.length, rejected: 0, reasons: {}, locallyInvalid: {}, untimed: 0,
      firstEventTs: records[0]!.event.ts, lastEventTs: records.at(-1)!.event.ts, kafka: true, target: `kafka ${testEndpoints().kafkaBrokers.join(',')} topic ${topic}`,
    });

    const received: InboundMessage[] = [];
    sub = await bus.subscribe({ topic, groupId: uniqueName('vigil-replay-int-group'), fromBeginning: true, maxBatchSize: 1_000 }, async (batch) => {
      received.push(...batch);
    });
    await waitFor(() => received.length >= lines.length, { timeoutMs: 90_000, what: `${lines.length} records on ${topic}` });
    expect(received).toHaveLength(lines.length);
    expect(new Set(received.map((m) => m.value))).toEqual(new Set(lines));
    expect(received.every((m) => m.headers['tenant'] === 'acme' && m.headers['format'] === 'kong')).toBe(true);
  }, 240_000);
});
