import { z } from 'zod';

/**
 * The only module that reads process.env. Every variable is validated at boot into a typed config tree;
 * a missing or malformed variable fails with a message that names it.
 */
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const EnvSchema = z
  .object({
    VIGIL_MODE: z.enum(['standalone', 'distributed']).default('standalone'),
    VIGIL_BUS: z.enum(['inprocess', 'kafka']).optional(),
    VIGIL_STORE: z.enum(['sqlite', 'clickhouse']).optional(),
    VIGIL_QUEUE: z.enum(['sqlite', 'bullmq']).optional(),
    VIGIL_HTTP_HOST: z.string().default('0.0.0.0'),
    PORT: port.default(8080),
    VIGIL_DATA_DIR: z.string().min(1).default('.data'),
    VIGIL_TENANT: z.string().min(1).max(128).default('default'),
    /** Secret for keyed hashes of raw API keys seen in logs. Must be set in distributed mode. */
    VIGIL_HASH_KEY: z.string().min(16).optional(),
    KAFKA_BROKERS: csv.optional(),
    KAFKA_CLIENT_ID: z.string().min(1).default('vigil'),
    KAFKA_GROUP_PREFIX: z.string().min(1).default('vigil'),
    CLICKHOUSE_URL: z.url().optional(),
    CLICKHOUSE_USER: z.string().default('default'),
    CLICKHOUSE_PASSWORD: z.string().default(''),
    CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier').default('vigil'),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: bool.default(false),
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(15000),
    RETENTION_DAYS: positiveInt.default(30),
    /** Proxies whose X-Forwarded-For entries are trusted (IPs or CIDRs, comma-separated). */
    VIGIL_TRUSTED_PROXIES: csv.default([]),
    /** Force one log format for every record instead of detecting it per record. */
    VIGIL_INGEST_FORMAT: z.enum(['auto', 'kong', 'apisix', 'envoy', 'nginx', 'traefik', 'aws', 'tyk', 'vigil']).default('auto'),
    VIGIL_INGEST_MAX_RECORD_BYTES: positiveInt.default(65536),
    /** Largest HTTP body accepted by POST /v1/logs (after gunzip). */
    VIGIL_INGEST_MAX_BODY_BYTES: positiveInt.default(16 * 1024 * 1024),
    /** Events written to the store in one insert, at most. */
    VIGIL_INGEST_BATCH_MAX_EVENTS: positiveInt.default(5000),
    /** HTTP records wait at most this long to be batched with others. */
    VIGIL_INGEST_BATCH_MAX_WAIT_MS: positiveInt.default(200),
    /** HTTP ingest answers 429 when more events than this are waiting to be stored. */
    VIGIL_INGEST_MAX_PENDING_EVENTS: positiveInt.default(100000),
    /** Consumed raw-log topic (Kafka source). */
    VIGIL_RAW_LOGS_TOPIC: z.string().min(1).default('vigil.access-logs.raw'),
    VIGIL_DLQ_TOPIC: z.string().min(1).default('vigil.access-logs.dlq'),
    /** Normalised events out of ingest, into the detector. */
    VIGIL_ACCESS_EVENTS_TOPIC: z.string().min(1).default('vigil.access-events'),
    /** Detector config file (YAML or JSON), validated at boot. */
    VIGIL_DETECTOR_CONFIG: z.string().min(1).default('config/detectors.yaml'),
    /** Event-time window length of the detector (ms). */
    VIGIL_DETECTOR_WINDOW_MS: positiveInt.default(60_000),
    /** Allowed lateness: a window closes once the partition's max event time passes its end by this much (ms). */
    VIGIL_DETECTOR_LATENESS_MS: z.coerce.number().int().min(0).default(10_000),
    /** Entities tracked per detector instance, at most (least recently active evicted first). */
    VIGIL_DETECTOR_MAX_ENTITIES: positiveInt.default(1_000_000),
    /** An entity idle (in event time) longer than this is forgotten (ms). */
    VIGIL_DETECTOR_IDLE_TTL_MS: positiveInt.default(7 * 86_400_000),
    /** Checkpoint a partition's state every this much event time (ms) ... */
    VIGIL_DETECTOR_CHECKPOINT_INTERVAL_MS: positiveInt.default(300_000),
    /** ... or every this many events, whichever comes first. */
    VIGIL_DETECTOR_CHECKPOINT_EVERY_EVENTS: positiveInt.default(200_000),
    VIGIL_DETECTOR_REKEY_TOPIC: z.string().min(1).default('vigil.detector.rekeyed'),
    VIGIL_DETECTOR_ANOMALIES_TOPIC: z.string().min(1).default('vigil.anomalies'),
    /** Webhook targets may resolve to loopback/private/link-local/… addresses (SSRF guard off). */
    VIGIL_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    /** CIDRs webhook targets may resolve to even though they are not public (e.g. `10.20.0.0/16,127.0.0.1/32`). */
    VIGIL_WEBHOOK_ALLOWED_CIDRS: csv.default([]),
    /** Per-attempt timeout of one webhook delivery (ms). */
    VIGIL_WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
    /** Webhook deliveries in flight per process. */
    VIGIL_WEBHOOK_CONCURRENCY: positiveInt.default(64),
    /** Consecutive failed deliveries to one endpoint that open its circuit breaker. */
    VIGIL_WEBHOOK_BREAKER_THRESHOLD: positiveInt.default(5),
    /** How long an open circuit stays open before one trial delivery (ms). */
    VIGIL_WEBHOOK_BREAKER_COOLDOWN_MS: positiveInt.default(30_000),
    /** Requests per minute per API key on /v1/* (per client IP for requests without a valid key). */
    VIGIL_RATE_LIMIT_PER_MINUTE: positiveInt.default(600),
    /** PEM certificate and key: both set = HTTPS (and WSS for socket.io). */
    VIGIL_TLS_CERT: z.string().min(1).optional(),
    VIGIL_TLS_KEY: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    const bus = env.VIGIL_BUS ?? (env.VIGIL_MODE === 'distributed' ? 'kafka' : 'inprocess');
    const store = env.VIGIL_STORE ?? (env.VIGIL_MODE === 'distributed' ? 'clickhouse' : 'sqlite');
    const queue = env.VIGIL_QUEUE ?? (env.VIGIL_MODE === 'distributed' ? 'bullmq' : 'sqlite');
    const need = (name: keyof typeof env, why: string) => {
      if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
    };
    if (bus === 'kafka') need('KAFKA_BROKERS', 'when the event bus is kafka');
    if (store === 'clickhouse') need('CLICKHOUSE_URL', 'when the store is clickhouse');
    if (queue === 'bullmq') need('REDIS_URL', 'when the work queue is bullmq');
    if (env.VIGIL_MODE === 'distributed') need('VIGIL_HASH_KEY', 'in distributed mode (all instances must share it)');
    if (env.VIGIL_TLS_CERT !== undefined) need('VIGIL_TLS_KEY', 'when VIGIL_TLS_CERT is set');
    if (env.VIGIL_TLS_KEY !== undefined) need('VIGIL_TLS_CERT', 'when VIGIL_TLS_KEY is set');
  });

export type Env = z.infer<typeof EnvSchema>;

export interface VigilConfig {
  mode: 'standalone' | 'distributed';
  http: { host: string; port: number };
  tenant: string;
  /** Prefix of consumer groups, queue keys and Redis channels of this deployment (KAFKA_GROUP_PREFIX; `vigil`). */
  groupPrefix: string;
  dataDir: string;
  hashKey: string;
  bus: { kind: 'inprocess' } | { kind: 'kafka'; brokers: string[]; clientId: string; groupPrefix: string };
  store:
    | { kind: 'sqlite'; path: string }
    | { kind: 'clickhouse'; url: string; user: string; password: string; database: string };
  queue: { kind: 'sqlite'; path: string } | { kind: 'bullmq'; redisUrl: string };
  redisUrl: string | null;
  log: { level: Env['LOG_LEVEL']; pretty: boolean };
  shutdownTimeoutMs: number;
  retentionDays: number;
  ingest: {
    trustedProxies: string[];
    format: Env['VIGIL_INGEST_FORMAT'];
    maxRecordBytes: number;
    maxBodyBytes: number;
    batchMaxEvents: number;
    batchMaxWaitMs: number;
    maxPendingEvents: number;
    rawTopic: string;
    dlqTopic: string;
    accessEventsTopic: string;
  };
  detector: {
    configPath: string;
    windowMs: number;
    latenessMs: number;
    maxEntities: number;
    idleTtlMs: number;
    checkpointIntervalMs: number;
    checkpointEveryEvents: number;
    accessEventsTopic: string;
    rekeyTopic: string;
    anomaliesTopic: string;
  };
  webhooks: {
    allowPrivate: boolean;
    allowedCidrs: string[];
    timeoutMs: number;
    concurrency: number;
    breakerThreshold: number;
    breakerCooldownMs: number;
  };
  rateLimit: { perMinute: number };
  /** Paths of the PEM certificate and key; null = plain HTTP. */
  tls: { certPath: string; keyPath: string } | null;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Standalone mode derives a stable hash key per data dir when none is given; the caller persists it. */
export const DEV_HASH_KEY_PLACEHOLDER = 'standalone-dev-hash-key-not-for-production';

export function loadConfig(source: Record<string, string | undefined>): VigilConfig {
  // Empty strings count as unset, as in most twelve-factor tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.length ? String(i.path[0]) : '(env)';
        const got = typeof cleaned[name] === 'string' ? ` (got ${JSON.stringify(redactValue(name, cleaned[name] as string))})` : '';
        return `${name} ${i.message}${got}`;
      }),
    );
  }
  const env = parsed.data;
  const distributed = env.VIGIL_MODE === 'distributed';
  const busKind = env.VIGIL_BUS ?? (distributed ? 'kafka' : 'inprocess');
  const storeKind = env.VIGIL_STORE ?? (distributed ? 'clickhouse' : 'sqlite');
  const queueKind = env.VIGIL_QUEUE ?? (distributed ? 'bullmq' : 'sqlite');
  const sqlitePath = `${env.VIGIL_DATA_DIR}/vigil.sqlite`;
  return {
    mode: env.VIGIL_MODE,
    http: { host: env.VIGIL_HTTP_HOST, port: env.PORT },
    tenant: env.VIGIL_TENANT,
    groupPrefix: env.KAFKA_GROUP_PREFIX,
    dataDir: env.VIGIL_DATA_DIR,
    hashKey: env.VIGIL_HASH_KEY ?? DEV_HASH_KEY_PLACEHOLDER,
    bus:
      busKind === 'kafka'
        ? { kind: 'kafka', brokers: env.KAFKA_BROKERS ?? [], clientId: env.KAFKA_CLIENT_ID, groupPrefix: env.KAFKA_GROUP_PREFIX }
        : { kind: 'inprocess' },
    store:
      storeKind === 'clickhouse'
        ? { kind: 'clickhouse', url: env.CLICKHOUSE_URL ?? '', user: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD, database: env.CLICKHOUSE_DATABASE }
        : { kind: 'sqlite', path: sqlitePath },
    queue: queueKind === 'bullmq' ? { kind: 'bullmq', redisUrl: env.REDIS_URL ?? '' } : { kind: 'sqlite', path: sqlitePath },
    redisUrl: env.REDIS_URL ?? null,
    log: { level: env.LOG_LEVEL, pretty: env.LOG_PRETTY },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    retentionDays: env.RETENTION_DAYS,
    ingest: {
      trustedProxies: env.VIGIL_TRUSTED_PROXIES,
      format: env.VIGIL_INGEST_FORMAT,
      maxRecordBytes: env.VIGIL_INGEST_MAX_RECORD_BYTES,
      maxBodyBytes: env.VIGIL_INGEST_MAX_BODY_BYTES,
      batchMaxEvents: env.VIGIL_INGEST_BATCH_MAX_EVENTS,
      batchMaxWaitMs: env.VIGIL_INGEST_BATCH_MAX_WAIT_MS,
      maxPendingEvents: env.VIGIL_INGEST_MAX_PENDING_EVENTS,
      rawTopic: env.VIGIL_RAW_LOGS_TOPIC,
      dlqTopic: env.VIGIL_DLQ_TOPIC,
      accessEventsTopic: env.VIGIL_ACCESS_EVENTS_TOPIC,
    },
    detector: {
      configPath: env.VIGIL_DETECTOR_CONFIG,
      windowMs: env.VIGIL_DETECTOR_WINDOW_MS,
      latenessMs: env.VIGIL_DETECTOR_LATENESS_MS,
      maxEntities: env.VIGIL_DETECTOR_MAX_ENTITIES,
      idleTtlMs: env.VIGIL_DETECTOR_IDLE_TTL_MS,
      checkpointIntervalMs: env.VIGIL_DETECTOR_CHECKPOINT_INTERVAL_MS,
      checkpointEveryEvents: env.VIGIL_DETECTOR_CHECKPOINT_EVERY_EVENTS,
      /** The topic ingest publishes to (one variable, so the two services cannot disagree). */
      accessEventsTopic: env.VIGIL_ACCESS_EVENTS_TOPIC,
      rekeyTopic: env.VIGIL_DETECTOR_REKEY_TOPIC,
      anomaliesTopic: env.VIGIL_DETECTOR_ANOMALIES_TOPIC,
    },
    webhooks: {
      allowPrivate: env.VIGIL_WEBHOOK_ALLOW_PRIVATE,
      allowedCidrs: env.VIGIL_WEBHOOK_ALLOWED_CIDRS,
      timeoutMs: env.VIGIL_WEBHOOK_TIMEOUT_MS,
      concurrency: env.VIGIL_WEBHOOK_CONCURRENCY,
      breakerThreshold: env.VIGIL_WEBHOOK_BREAKER_THRESHOLD,
      breakerCooldownMs: env.VIGIL_WEBHOOK_BREAKER_COOLDOWN_MS,
    },
    rateLimit: { perMinute: env.VIGIL_RATE_LIMIT_PER_MINUTE },
    tls: env.VIGIL_TLS_CERT && env.VIGIL_TLS_KEY ? { certPath: env.VIGIL_TLS_CERT, keyPath: env.VIGIL_TLS_KEY } : null,
  };
}

const SECRET_NAME = /PASSWORD|SECRET|KEY|TOKEN/i;
function redactValue(name: string, value: string): string {
  return SECRET_NAME.test(name) ? '[redacted]' : value.length > 80 ? value.slice(0, 77) + '...' : value;
}

export const VIGIL_CONFIG = Symbol('VIGIL_CONFIG');
