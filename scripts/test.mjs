#!/usr/bin/env node
/**
 * `npm test`: type-check, then run the Jest tiers (unit, integration, e2e) and end with one plain summary line
 * "N passed, N failed[, N skipped]". Exits non-zero on any failure.
 *
 *   node scripts/test.mjs [--tier unit|integration|e2e] [--skip-typecheck] [--] [jest args...]
 *
 * The integration and e2e tiers need ClickHouse, Redis and a Kafka-protocol broker. Endpoints come from:
 *   1. the environment, when VIGIL_TEST_CLICKHOUSE_URL, VIGIL_TEST_REDIS_URL and VIGIL_TEST_KAFKA_BROKERS are all set;
 *   2. testcontainers, when a Docker engine answers (ClickHouse 24.8, Redis 7, Apache Kafka 3.8 in KRaft mode);
 *   3. deploy/local/up.sh (Debian packages and librdkafka's mock broker, no Docker).
 * VIGIL_TEST_INFRA=local|containers forces 2 or 3. Only what this run started is stopped at the end.
 * Unit tests need none of it, so `--tier unit` starts nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const TIERS = ['unit', 'integration', 'e2e'];
const INFRA_TIERS = new Set(['integration', 'e2e']);
const ENV_VARS = ['VIGIL_TEST_CLICKHOUSE_URL', 'VIGIL_TEST_REDIS_URL', 'VIGIL_TEST_KAFKA_BROKERS'];
const IMAGES = {
  clickhouse: 'clickhouse/clickhouse-server:24.8',
  redis: 'redis:7',
  kafka: 'apache/kafka:3.8.1',
};

const say = (msg) => process.stderr.write(`[test] ${msg}\n`);

// ---------------------------------------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = { tiers: TIERS, typecheck: true, jestArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.jestArgs.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--tier' || a.startsWith('--tier=')) {
      const v = a === '--tier' ? argv[++i] : a.slice('--tier='.length);
      if (!v || !TIERS.includes(v)) usage(`--tier must be one of ${TIERS.join(', ')}${v ? `, got '${v}'` : ''}`);
      opts.tiers = [v];
    } else if (a === '--skip-typecheck') {
      opts.typecheck = false;
    } else if (a === '--help' || a === '-h') {
      usage();
    } else {
      opts.jestArgs.push(a);
    }
  }
  return opts;
}

function usage(problem) {
  const text = `usage: node scripts/test.mjs [--tier ${TIERS.join('|')}] [--skip-typecheck] [--] [jest args...]`;
  if (problem) {
    process.stderr.write(`${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- processes

/** Running children, so a signal to the runner reaches them too. */
const children = new Set();

/** Runs a command; resolves with its exit code (signals count as failure) and, if asked, its stdout. */
function run(cmd, args, { env = process.env, capture = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    if (capture) {
      child.stdout.on('data', (d) => {
        out += d;
        process.stderr.write(d);
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), signal, out }));
  });
}

// ---------------------------------------------------------------------------------------------- docker detection

/** GET /_ping on a Docker engine over a unix socket or TCP, answered within `timeoutMs`. */
function dockerPing(target, timeoutMs = 1500) {
  return new Promise((resolve) => {
    const opts = target.socketPath
      ? { socketPath: target.socketPath, path: '/_ping' }
      : { host: target.host, port: target.port, path: '/_ping' };
    const req = request({ ...opts, method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpReachable(host, port, timeoutMs = 1500) {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

function testcontainersPropertiesHost() {
  const file = join(homedir(), '.testcontainers.properties');
  if (!existsSync(file)) return undefined;
  const m = /^\s*docker\.host\s*=\s*(\S+)/m.exec(readFileSync(file, 'utf8'));
  return m?.[1];
}

/**
 * Is a Docker engine reachable? Cheap and bounded (about 1.5 s at worst): only sockets that exist are pinged,
 * so on a machine with just the docker CLI (or nothing) this returns at once.
 * Returns { ok: true, dockerHost? } or { ok: false, reason }.
 */
async function detectDocker() {
  const explicit = process.env.DOCKER_HOST || testcontainersPropertiesHost();
  if (explicit) {
    if (explicit.startsWith('unix://')) {
      const socketPath = explicit.slice('unix://'.length);
      if (!existsSync(socketPath)) return { ok: false, reason: `DOCKER_HOST=${explicit}: no such socket` };
      return (await dockerPing({ socketPath }))
        ? { ok: true }
        : { ok: false, reason: `DOCKER_HOST=${explicit} does not answer /_ping` };
    }
    const m = /^(?:tcp|https?):\/\/\[?([^\]/]+?)\]?:(\d+)/.exec(explicit);
    if (!m) return { ok: false, reason: `DOCKER_HOST=${explicit} is not a unix:// or tcp://host:port address` };
    // TLS engines (DOCKER_TLS_VERIFY) cannot be pinged with plain HTTP; a TCP connect is evidence enough.
    const reachable = process.env.DOCKER_TLS_VERIFY
      ? await tcpReachable(m[1], Number(m[2]))
      : await dockerPing({ host: m[1], port: Number(m[2]) });
    return reachable ? { ok: true } : { ok: false, reason: `DOCKER_HOST=${explicit} is not reachable` };
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const candidates = [
    '/var/run/docker.sock',
    process.env.XDG_RUNTIME_DIR && join(process.env.XDG_RUNTIME_DIR, 'docker.sock'),
    uid !== undefined && `/run/user/${uid}/docker.sock`,
    join(homedir(), '.docker/run/docker.sock'),
    join(homedir(), '.docker/desktop/docker.sock'),
    join(homedir(), '.colima/default/docker.sock'),
    join(homedir(), '.rd/docker.sock'),
  ].filter(Boolean);
  const present = candidates.filter((p) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  });
  for (const socketPath of present) {
    if (await dockerPing({ socketPath })) {
      // testcontainers finds the standard locations itself; point it at the others.
      return { ok: true, dockerHost: socketPath.startsWith('/var/run/') ? undefined : `unix://${socketPath}` };
    }
  }
  return {
    ok: false,
    reason: present.length
      ? `Docker sockets ${present.join(', ')} do not answer`
      : 'no Docker engine (DOCKER_HOST unset, no Docker socket)',
  };
}

// ---------------------------------------------------------------------------------------------- infrastructure

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** DEFAULT_PARTITIONS from the freshly built contracts (tsc -b ran first), else parsed from the source. */
async function defaultPartitions() {
  const built = join(REPO, 'libs/contracts/dist/topics.js');
  if (existsSync(built)) {
    const mod = await import(pathToFileURL(built).href);
    if (mod.DEFAULT_PARTITIONS) return mod.DEFAULT_PARTITIONS;
  }
  const src = readFileSync(join(REPO, 'libs/contracts/src/topics.ts'), 'utf8');
  const block = src.slice(src.indexOf('DEFAULT_PARTITIONS'));
  const body = block.slice(0, block.indexOf('}'));
  return Object.fromEntries([...body.matchAll(/['"]([^'"]+)['"]\s*:\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

async function fromContainers(docker) {
  if (docker.dockerHost && !process.env.DOCKER_HOST) process.env.DOCKER_HOST = docker.dockerHost;
  let tc;
  try {
    tc = await import('testcontainers');
  } catch (e) {
    const major = Number(process.versions.node.split('.')[0]);
    const hint = major < 22 ? ` (testcontainers 12 pulls undici 8, which needs Node >= 22; this is Node ${process.versions.node})` : '';
    throw new Error(`cannot load testcontainers: ${e instanceof Error ? e.message : String(e)}${hint}`);
  }
  const { GenericContainer, Wait, getContainerRuntimeClient } = tc;
  const runtime = await getContainerRuntimeClient();
  const host = runtime.info.containerRuntime.host;
  // Kafka advertises the address clients must dial, so its host port is fixed before the container starts.
  const kafkaHostPort = await freePort();
  say(`starting containers on ${host}: ${Object.values(IMAGES).join(', ')}`);

  const starts = {
    clickhouse: new GenericContainer(IMAGES.clickhouse)
      .withExposedPorts(8123)
      .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
      .withUlimits({ nofile: { soft: 262144, hard: 262144 } })
      .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
      .withStartupTimeout(180_000)
      .start(),
    redis: new GenericContainer(IMAGES.redis)
      .withExposedPorts(6379)
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withStartupTimeout(120_000)
      .start(),
    kafka: new GenericContainer(IMAGES.kafka)
      .withExposedPorts({ container: 9092, host: kafkaHostPort })
      .withEnvironment({
        CLUSTER_ID: 'VmlnaWxUZXN0Q2x1c3Rlcg',
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${kafkaHostPort}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        // Same as the local mock: unknown topics are auto-created with 4 partitions.
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
        KAFKA_NUM_PARTITIONS: '4',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(180_000)
      .start(),
  };
  const names = Object.keys(starts);
  const settled = await Promise.allSettled(Object.values(starts));
  const started = {};
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') started[names[i]] = r.value;
  });
  const stop = async () => {
    await Promise.allSettled(Object.values(started).map((c) => c.stop()));
  };
  const failures = settled.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${r.reason?.message ?? r.reason}`] : []));
  if (failures.length) {
    await stop();
    throw new Error(`containers failed to start: ${failures.join('; ')}`);
  }
  const brokers = `${started.kafka.getHost()}:${kafkaHostPort}`;
  try {
    await createTopics([brokers]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    source: 'testcontainers',
    env: {
      VIGIL_TEST_CLICKHOUSE_URL: `http://${started.clickhouse.getHost()}:${started.clickhouse.getMappedPort(8123)}`,
      VIGIL_TEST_REDIS_URL: `redis://${started.redis.getHost()}:${started.redis.getMappedPort(6379)}`,
      VIGIL_TEST_KAFKA_BROKERS: brokers,
    },
    stop,
  };
}

/** On a real Kafka, the contract topics are created with their DEFAULT_PARTITIONS counts. */
async function createTopics(brokers) {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ clientId: 'vigil-test-runner', brokers, logLevel: logLevel.ERROR }).admin();
  const partitions = await defaultPartitions();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.entries(partitions).map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

const LEASES = join(REPO, '.infra', 'leases');

/** Test runs that are using the local infrastructure right now (their PIDs are alive), other than this one. */
function otherLeases() {
  if (!existsSync(LEASES)) return [];
  return readdirSync(LEASES)
    .map(Number)
    .filter((pid) => pid && pid !== process.pid)
    .filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        rmSync(join(LEASES, String(pid)), { force: true });
        return false;
      }
    });
}

async function fromLocalScripts() {
  say('starting the local infrastructure with deploy/local/up.sh');
  mkdirSync(LEASES, { recursive: true });
  writeFileSync(join(LEASES, String(process.pid)), `${new Date().toISOString()}\n`);
  const res = await run('bash', [join(REPO, 'deploy/local/up.sh')], { capture: true });
  if (res.code !== 0) {
    rmSync(join(LEASES, String(process.pid)), { force: true });
    throw new Error(`deploy/local/up.sh exited with ${res.code}`);
  }
  const started = (/^STARTED:(.*)$/m.exec(res.out)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const env = {};
  for (const line of res.out.split('\n')) {
    const m = /^(VIGIL_TEST_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  const missing = ENV_VARS.filter((v) => !env[v]);
  if (missing.length) throw new Error(`deploy/local/up.sh did not report ${missing.join(', ')}`);
  const stop = async () => {
    rmSync(join(LEASES, String(process.pid)), { force: true });
    if (!started.length) return;
    const others = otherLeases();
    if (others.length) {
      say(`leaving ${started.join(', ')} running: test run(s) ${others.join(', ')} still use them (npm run infra:down stops them)`);
      return;
    }
    say(`stopping what this run started: ${started.join(', ')}`);
    await run('bash', [join(REPO, 'deploy/local/down.sh'), ...started]);
  };
  return { source: `deploy/local (started: ${started.join(', ') || 'none, reused running services'})`, env, stop };
}

async function resolveInfrastructure() {
  const set = ENV_VARS.filter((v) => process.env[v]);
  if (set.length === ENV_VARS.length) {
    const env = Object.fromEntries(ENV_VARS.map((v) => [v, process.env[v]]));
    if (process.env.VIGIL_TEST_KAFKA_CONTROL_PORT) env.VIGIL_TEST_KAFKA_CONTROL_PORT = process.env.VIGIL_TEST_KAFKA_CONTROL_PORT;
    return { source: 'environment', env, stop: async () => {} };
  }
  if (set.length) {
    throw new Error(
      `${set.join(', ')} set but ${ENV_VARS.filter((v) => !process.env[v]).join(', ')} not: set all three, or none to let the runner start them`,
    );
  }
  const mode = process.env.VIGIL_TEST_INFRA ?? 'auto';
  if (!['auto', 'local', 'containers'].includes(mode)) throw new Error(`VIGIL_TEST_INFRA must be auto, local or containers, got '${mode}'`);
  if (mode !== 'local') {
    const docker = await detectDocker();
    if (docker.ok) {
      try {
        return await fromContainers(docker);
      } catch (e) {
        if (mode === 'containers') throw e;
        say(`testcontainers unavailable (${e instanceof Error ? e.message : String(e)}); falling back to deploy/local`);
      }
    } else if (mode === 'containers') {
      throw new Error(`VIGIL_TEST_INFRA=containers but ${docker.reason}`);
    } else {
      say(`${docker.reason}: using deploy/local`);
    }
  }
  return fromLocalScripts();
}

// ---------------------------------------------------------------------------------------------- jest

/**
 * One tier. Counts come from Jest's --json results; a suite that failed without a failed test (an import
 * error, a failing beforeAll) counts as one failure, and so does a Jest that died without writing results.
 */
async function runTier(tier, jestArgs, infraEnv) {
  const outFile = join(tmpdir(), `vigil-jest-${tier}-${process.pid}.json`);
  rmSync(outFile, { force: true });
  const env = { ...process.env, ...infraEnv };
  env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ');
  if (!infraEnv.VIGIL_TEST_KAFKA_CONTROL_PORT) delete env.VIGIL_TEST_KAFKA_CONTROL_PORT;
  const args = [
    join(REPO, 'node_modules/jest/bin/jest.js'),
    '--selectProjects',
    tier,
    ...(INFRA_TIERS.has(tier) ? ['--runInBand'] : []),
    '--passWithNoTests',
    '--json',
    '--outputFile',
    outFile,
    ...jestArgs,
  ];
  say(`tier ${tier}: jest ${args.slice(1).join(' ')}`);
  const { code } = await run(process.execPath, args, { env });
  let results;
  try {
    results = JSON.parse(readFileSync(outFile, 'utf8'));
  } catch {
    results = undefined;
  } finally {
    rmSync(outFile, { force: true });
  }
  if (Array.isArray(results)) {
    // --listTests: Jest wrote the test file paths instead of results
    for (const file of results) console.log(file);
    return { tier, passed: 0, failed: code === 0 ? 0 : 1, skipped: 0, suites: 0, code, note: `listed ${results.length} test file(s), ran none` };
  }
  if (!results) {
    // e.g. --listTests or --showConfig print and exit without results
    return code === 0
      ? { tier, passed: 0, failed: 0, skipped: 0, suites: 0, code, note: 'no test results (nothing ran)' }
      : { tier, passed: 0, failed: 1, skipped: 0, suites: 0, code, note: `jest exited with ${code} without results` };
  }
  const suiteErrors = results.testResults.filter(
    (s) => s.status === 'failed' && !s.assertionResults.some((a) => a.status === 'failed'),
  ).length;
  const failed = results.numFailedTests + suiteErrors;
  const notes = [];
  if (suiteErrors) notes.push(`${suiteErrors} suite(s) failed to run`);
  if (code !== 0 && failed === 0) notes.push(`jest exited with ${code}`);
  return {
    tier,
    passed: results.numPassedTests,
    failed: code !== 0 && failed === 0 ? 1 : failed,
    skipped: results.numPendingTests + results.numTodoTests,
    suites: results.numTotalTestSuites,
    code,
    note: notes.join('; '),
  };
}

function counts({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const results = [];
  let infra;
  let stopping;
  const cleanup = async () => {
    if (!infra) return;
    stopping ??= infra.stop().catch((e) => say(`stopping the infrastructure failed: ${e?.message ?? e}`));
    await stopping;
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      say(`${sig}: stopping`);
      for (const child of children) child.kill(sig);
      cleanup().finally(() => process.exit(130));
    });
  }

  const finish = (extraFailure) => {
    const total = results.reduce(
      (t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed, skipped: t.skipped + r.skipped }),
      { passed: 0, failed: 0, skipped: 0 },
    );
    console.log('\nResults');
    for (const r of results) {
      const detail = [r.suites ? `${r.suites} suite${r.suites === 1 ? '' : 's'}` : '', r.note].filter(Boolean).join('; ');
      console.log(`  ${r.tier.padEnd(12)} ${counts(r)}${detail ? `  (${detail})` : ''}`);
    }
    console.log(counts(total));
    return total.failed > 0 || extraFailure || results.some((r) => r.code !== 0) ? 1 : 0;
  };

  if (opts.typecheck) {
    say('type-checking: tsc -b');
    const tsc = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b']);
    if (tsc.code !== 0) {
      say('type errors: not running the tests');
      results.push({ tier: 'typecheck', passed: 0, failed: 1, skipped: 0, suites: 0, code: tsc.code, note: 'tsc -b failed' });
      return finish(true);
    }
  }

  try {
    for (const tier of opts.tiers) {
      let infraEnv = {};
      if (INFRA_TIERS.has(tier)) {
        if (!infra) {
          try {
            infra = await resolveInfrastructure();
            say(`infrastructure from ${infra.source}:`);
            for (const [k, v] of Object.entries(infra.env)) say(`  ${k}=${v}`);
          } catch (e) {
            const why = e instanceof Error ? e.message : String(e);
            say(`cannot provide the infrastructure: ${why}`);
            for (const t of opts.tiers.filter((x) => INFRA_TIERS.has(x))) {
              results.push({ tier: t, passed: 0, failed: 1, skipped: 0, suites: 0, code: 1, note: `not run: no infrastructure (${why})` });
            }
            break;
          }
        }
        infraEnv = infra.env;
      }
      const r = await runTier(tier, opts.jestArgs, infraEnv);
      say(`tier ${tier}: ${counts(r)}${r.note ? ` (${r.note})` : ''}`);
      results.push(r);
    }
  } finally {
    await cleanup();
  }
  return finish(false);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
