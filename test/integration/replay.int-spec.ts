import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { KafkaEventBus, type InboundMessage, type Subscription } from '@vigil/platform';
import { TrafficPlan, testEndpoints, uniqueName, waitFor } from '@vigil/testing';

const run = promisify(execFile);
const ROOT = resolve(process.cwd());
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The replay CLI, run as a user runs it (tsx, real arguments), shipping a generated gateway log into a real
 * Kafka topic; a consumer then reads the topic back.
 */
describe('replay CLI → Kafka', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-int-'));
  let bus: KafkaEventBus;
  let sub: Subscription | null = null;

  beforeAll(() => {
    bus = new KafkaEventBus({ brokers: testEndpoints().kafkaBrokers, clientId: uniqueName('vigil-replay-test'), logger: quiet });
  });
  afterAll(async () => {
    await sub?.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('produces every record of a gzip-compressed generated log to the topic, verbatim, with the tenant and format headers', async () => {
    // Small enough to stay well inside what the test broker retains per partition.
    const plan = new TrafficPlan({ seed: 7, rps: 4, durationMs: 10 * 60_000, format: 'kong', attacks: ['brute_force', 'injection'], start: Date.now() - 3_600_000 });
    const lines = Array.from(plan.records(), (r) => r.raw);
    expect(lines.length).toBeGreaterThan(2_000);
    const file = join(dir, 'traffic.ndjson.gz');
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const topic = uniqueName('vigil.replay-int');

    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/replay/replay.ts', file, '--kafka', testEndpoints().kafkaBrokers.join(','), '--topic', topic, '--tenant', 'acme', '--format', 'kong', '--batch', '250', '--quiet'],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 16 << 20 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number; accepted: number; rejected: number; locallyInvalid: Record<string, number> };
    expect(summary).toEqual({ sent: lines.length, accepted: lines.length, rejected: 0, reasons: {}, locallyInvalid: {} });
    expect(stderr).toContain(`replay: ${lines.length} sent to kafka`);

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
