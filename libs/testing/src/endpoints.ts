/**
 * Endpoints of the real infrastructure that integration and e2e tests use.
 * scripts/test.mjs resolves them before Jest starts (environment, then testcontainers when Docker
 * is reachable, then the local scripts in deploy/local) and passes them in these variables.
 */
export interface TestEndpoints {
  clickhouseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
  /** Control port of the Kafka mock helper (fault drills); null on a real Kafka. */
  kafkaControlPort: number | null;
}

export function testEndpoints(): TestEndpoints {
  const missing: string[] = [];
  const get = (name: string): string => {
    const v = process.env[name];
    if (!v) missing.push(name);
    return v ?? '';
  };
  const clickhouseUrl = get('VIGIL_TEST_CLICKHOUSE_URL');
  const redisUrl = get('VIGIL_TEST_REDIS_URL');
  const kafka = get('VIGIL_TEST_KAFKA_BROKERS');
  if (missing.length) {
    throw new Error(
      `Integration tests need real infrastructure; missing ${missing.join(', ')}. Run them with 'npm test' (which starts it), or set the variables yourself.`,
    );
  }
  const control = process.env.VIGIL_TEST_KAFKA_CONTROL_PORT;
  return { clickhouseUrl, redisUrl, kafkaBrokers: kafka.split(','), kafkaControlPort: control ? Number(control) : null };
}
