#!/usr/bin/env node
/**
 * Smoke check of the running infrastructure: ClickHouse answers SELECT version(), Redis answers PING, and a
 * message produced to a fresh Kafka topic comes back through a consumer group; the contract topics have
 * their DEFAULT_PARTITIONS partition counts.
 *
 *   node deploy/local/check.mjs            (endpoints from the VIGIL_TEST_* environment, else .infra/endpoints.env)
 *
 * Exits non-zero, naming the service, on the first failure.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function endpoints() {
  const env = { ...process.env };
  const file = join(repo, '.infra', 'endpoints.env');
  if (!env.VIGIL_TEST_CLICKHOUSE_URL && existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) env[m[1]] = m[2];
    }
  }
  for (const name of ['VIGIL_TEST_CLICKHOUSE_URL', 'VIGIL_TEST_REDIS_URL', 'VIGIL_TEST_KAFKA_BROKERS']) {
    if (!env[name]) throw new Error(`${name} is not set and not in ${file}; run deploy/local/up.sh first`);
  }
  return env;
}

function topicsFromSource() {
  const src = readFileSync(join(repo, 'libs/contracts/src/topics.ts'), 'utf8');
  const block = src.slice(src.indexOf('DEFAULT_PARTITIONS'));
  const body = block.slice(0, block.indexOf('}'));
  return Object.fromEntries([...body.matchAll(/['"]([^'"]+)['"]\s*:\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

function controlPing(port) {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write('ping\n'));
    let data = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('control port timed out')));
    sock.on('data', (d) => (data += d));
    sock.on('close', () => resolve(data.trim()));
    sock.on('error', reject);
  });
}

async function checkClickHouse(url) {
  const { createClient } = await import('@clickhouse/client');
  const client = createClient({ url, request_timeout: 5000 });
  try {
    const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    const rows = await rs.json();
    const version = rows[0]?.v;
    if (!version) throw new Error(`unexpected answer ${JSON.stringify(rows)}`);
    return version;
  } finally {
    await client.close();
  }
}

async function checkRedis(url) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
    return version ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

async function checkKafka(brokers) {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'vigil-infra-check', brokers, logLevel: logLevel.NOTHING });
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const topic = `vigil-infra-check.${suffix}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const consumer = kafka.consumer({ groupId: `vigil-infra-check-${suffix}`, maxWaitTimeInMs: 100 });
  try {
    await admin.connect();
    const expected = topicsFromSource();
    const meta = await admin.fetchTopicMetadata({ topics: Object.keys(expected) });
    for (const t of meta.topics) {
      if (t.partitions.length !== expected[t.name]) {
        throw new Error(`topic ${t.name} has ${t.partitions.length} partitions, DEFAULT_PARTITIONS says ${expected[t.name]}`);
      }
    }
    await producer.connect();
    const value = `hello ${suffix}`;
    await producer.send({ topic, messages: [{ key: 'k', value }] });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message consumed within 30 s')), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value?.toString());
          },
        })
        .catch(reject);
    });
    if (got !== value) throw new Error(`consumed ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
    return `${meta.topics.length} contract topics with their partition counts; produced and consumed one message on ${topic}`;
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  }
}

const env = endpoints();
let failed = false;
const step = async (name, fn) => {
  try {
    console.log(`ok    ${name}: ${await fn()}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL  ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
};
await step(`clickhouse ${env.VIGIL_TEST_CLICKHOUSE_URL}`, async () => `version ${await checkClickHouse(env.VIGIL_TEST_CLICKHOUSE_URL)}`);
await step(`redis ${env.VIGIL_TEST_REDIS_URL}`, async () => `PONG, version ${await checkRedis(env.VIGIL_TEST_REDIS_URL)}`);
await step(`kafka ${env.VIGIL_TEST_KAFKA_BROKERS}`, () => checkKafka(env.VIGIL_TEST_KAFKA_BROKERS.split(',')));
if (env.VIGIL_TEST_KAFKA_CONTROL_PORT) {
  await step(`kafka control port ${env.VIGIL_TEST_KAFKA_CONTROL_PORT}`, async () => {
    const reply = await controlPing(Number(env.VIGIL_TEST_KAFKA_CONTROL_PORT));
    if (reply !== 'PONG') throw new Error(`ping answered ${JSON.stringify(reply)}`);
    return reply;
  });
}
process.exit(failed ? 1 : 0);
