import { randomInt } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, ICustomPartitioner, IHeaders, KafkaMessage, LogEntry, Producer } from 'kafkajs';
import type {
  BatchContext,
  BatchHandler,
  DependencyHealth,
  EventBus,
  InboundMessage,
  OutboundMessage,
  SubscribeOptions,
  Subscription,
} from '../ports/event-bus.js';
import type { BusLogger } from './in-process-event-bus.js';
import { lagBetween, type ConsumerLagSample, type ConsumerLagSource, type OffsetResetSample } from './consumer-lag.js';
import './kafkajs-decoding.js';
import './kafkajs-encoding.js';
import { framedSocketFactory } from './kafkajs-socket.js';
import { partitionForKey } from './partitioner.js';
import { abortableDelay, redeliveryDelay } from './retry-delay.js';

const { Kafka, logLevel } = kafkajs;

export interface KafkaEventBusOptions {
  brokers: string[];
  clientId: string;
  logger?: BusLogger;
}

const DEFAULT_MAX_BATCH = 500;
/** Fetch sizing: room for about this many bytes per message of a full handler batch, within [1 MiB, 16 MiB] per partition. */
const FETCH_BYTES_PER_MESSAGE = 2_048;
const MIN_PARTITION_FETCH_BYTES = 1024 * 1024;
const MAX_PARTITION_FETCH_BYTES = 16 * 1024 * 1024;
const MAX_PARTITION_CONCURRENCY = 32;
/**
 * Byte limit of one fetch of a pipelined subscription. Fetching goes on while batches are handled, so a fetch need not
 * hold every partition's batch at once, and kafkajs copies each response into one Buffer: past glibc's largest mmap
 * threshold (32 MiB) every fetch maps and faults in fresh pages. bench:ingest backlog, 300k records, alternating at
 * load 1-2: 80 MiB fetches (8 partitions x 10 MiB) 24.5k/25.8k events/s, ingest 37/40 µs CPU per event, peak RSS
 * 565/588 MiB; 24 MiB 28.4k/28.5k, 35/35 µs, 401/412 MiB; 12 MiB 27.7k/27.8k, 35/37 µs, 359/379 MiB.
 */
const PIPELINED_FETCH_BYTES = 16 * 1024 * 1024;
/** Longest wait of a fetch that finds no data (librdkafka's mock holds an empty fetch this long even when data arrives). */
const FETCH_MAX_WAIT_MS = 100;

/**
 * Kafka-only subscription tuning, accepted wherever SubscribeOptions are (other adapters ignore the extra field).
 * A candidate for the port: see `partitionConcurrency`.
 */
export interface KafkaSubscribeOptions extends SubscribeOptions {
  /**
   * How many partitions' batches the handler may be running at once (default 1). Each partition's batches still
   * run one after another and commit in order, so per-key order holds; only a handler without state shared across
   * partitions (e.g. ingest) should raise it. Bounded at 32; in effect min(this, partitions held).
   */
  partitionConcurrency?: number;
  /**
   * Hand the batches of all partitions that one fetch brought to the handler in one call (default false), up to
   * maxBatchSize messages a call, and commit their offsets together once it resolves. For handlers whose cost is
   * mostly per call rather than per message (the alert's store rounds: one ClickHouse insert costs about the same for
   * one row or a hundred). Each partition's messages stay in order within a call and across calls; the context's
   * `partition` is the first message's (each message carries its own). A failed call redelivers every partition in
   * it from its first message of the call. Implies a partitionConcurrency of 32, so a fetch's batches arrive together.
   */
  mergePartitions?: boolean;
  /**
   * Fetch on while the handler works (default false). kafkajs fetches again only once every batch of its last fetch
   * has been handled, so a handler waiting on its store leaves the process idle and the next batch unfetched. Pipelined,
   * a fetched batch is queued on its partition's lane and the fetch loop goes on; up to partitionConcurrency handler
   * calls run at once (one per partition), and at most twice that many batches wait or run, then fetching waits too
   * (bounded memory). Guarantees stay those of the port: a partition's batches are handled in order and its offsets
   * commit, in order, only after its handler resolved; a failed batch's partition is paused, its queued batches are
   * dropped and it is fetched again from the failed batch after the backoff. Differences: a rebalance may revoke a
   * partition while its batch is still in the handler (onRevoked waits for it; its commit is refused and the next
   * owner handles it again: at-least-once, as after a crash), and close() waits for running handlers, drops queued ones.
   * Not with mergePartitions.
   */
  pipelined?: boolean;
}

/** pipelined: one partition's queue of handler calls. */
interface Lane {
  tail: Promise<void>;
  /** Bumped when the lane's queued batches must be dropped (a failure, a revocation, close). */
  generation: number;
  /** Waiting out a failure's backoff, paused and sought back: fetched batches of the partition are dropped. */
  blocked: boolean;
  /** Offset of the last message queued in this generation (a rejoin that keeps the partition refetches from its commit). */
  accepted: bigint;
}

/** One partition's fetched batch waiting in, or being handled by, a merged call (KafkaSubscribeOptions.mergePartitions). */
interface MergeEntry {
  readonly payload: EachBatchPayload;
  readonly messages: InboundMessage[];
  readonly lag: { highWatermark: string; next: string };
  /** Index of the first message not yet handled. */
  next: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Per-partition fetch size in bytes for handler batches of `maxBatch` messages. */
export function partitionFetchBytes(maxBatch: number): number {
  return Math.min(MAX_PARTITION_FETCH_BYTES, Math.max(MIN_PARTITION_FETCH_BYTES, maxBatch * FETCH_BYTES_PER_MESSAGE));
}
const HEALTH_TIMEOUT_MS = 3_000;
/** Heartbeat at least this often while waiting to redeliver, so a long backoff does not cost the membership. */
const BACKOFF_HEARTBEAT_MS = 2_000;
/** What kafkajs (2.2.4, ConsumerGroup.recoverFromOffsetOutOfRange) logs when it resets a partition's offset. */
const OFFSET_RESET_MESSAGE = 'Offset out of range, resetting to default offset';
/** Fields of kafkajs log entries passed on to our logger: identifiers and errors, never configuration. */
const LOG_FIELDS = ['groupId', 'memberId', 'topic', 'partition', 'broker', 'nodeId', 'error', 'retryCount', 'retryTime'] as const;

/** Whole-batch publish retries (see the producer options), with exponential backoff and jitter. */
const PUBLISH_RETRIES = 8;
const PUBLISH_RETRY_BASE_MS = 200;
const PUBLISH_RETRY_MAX_MS = 5_000;

/**
 * kafkajs's DefaultPartitioner, same mapping: a keyed message goes to murmur2(key) mod partitions (where a Java
 * client would put it), an unkeyed one round-robin over the partitions that have a leader. The hash is
 * partitioner.ts's (Math.imul) instead of kafkajs's, which allocates Long objects at every arithmetic step: 3.2 µs
 * against 0.5 µs per key measured here, about 4.5 % of the ingest process's busy time in the bench:ingest profile.
 */
const defaultPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return partitionForKey(message.key, partitionMetadata.length);
    const next = ((counters.get(topic) ?? randomInt(0x7fffffff)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0 ? available[next % available.length]!.partitionId : next % partitionMetadata.length;
  };
};

/**
 * Event bus on Kafka (kafkajs 2.2.4). Non-idempotent producer with a murmur2 partitioner (above), so keyed messages
 * land where a Java client would put them. Every publish waits for all in-sync replicas (acks=-1): ingest commits its
 * raw-log offsets once its publish is acknowledged, and with acks=1 an acknowledged batch could still be lost with a
 * leader that fails before its followers copied it. No compression: CPU is what ingest is short of, not bandwidth.
 * One kafkajs consumer per subscription; offsets are committed by hand after the handler resolves, and a batch whose
 * handler throws is fetched again after a backoff (at-least-once). One partition's batches at a time per subscription
 * unless it asks for more (KafkaSubscribeOptions.partitionConcurrency) or for a fetch's partitions in one call
 * (mergePartitions); a partition's own batches are always handled in order.
 */
export class KafkaEventBus implements EventBus, ConsumerLagSource {
  readonly kind = 'kafka' as const;
  private readonly kafka: InstanceType<typeof Kafka>;
  /** Offsets kafkajs reset after "offset out of range", per topic, partition and group (offsetResets). */
  private readonly resets = new Map<string, OffsetResetSample>();
  /** Health probes use their own client without retries, so a dead broker fails fast and leaves no retry timers. */
  private readonly probeClient: InstanceType<typeof Kafka>;
  private readonly logger: BusLogger | undefined;
  private readonly producer: Producer;
  private producerReady: Promise<void> | null = null;
  private producerConnected = false;
  private adminReady: Promise<Admin> | null = null;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closing: Promise<void> | null = null;

  constructor(opts: KafkaEventBusOptions) {
    if (opts.brokers.length === 0) throw new Error('KafkaEventBus needs at least one broker');
    this.logger = opts.logger;
    const common = {
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: 3_000,
      // responses read straight into one Buffer each, not concatenated from 64 KiB chunks (kafkajs-socket.ts)
      socketFactory: framedSocketFactory(),
      // errors always reach bridgeLog, which counts offset resets (and logs only with a logger)
      logLevel: opts.logger ? logLevel.WARN : logLevel.ERROR,
      logCreator: () => (entry: LogEntry) => this.bridgeLog(entry),
    };
    this.kafka = new Kafka(common);
    this.probeClient = new Kafka({ ...common, connectionTimeout: HEALTH_TIMEOUT_MS, retry: { retries: 0 } });
    this.producer = this.kafka.producer({
      createPartitioner: defaultPartitioner,
      allowAutoTopicCreation: true,
      idempotent: false,
      // No retries inside kafkajs: its send() keeps the per-broker responses of a failed attempt and, after a leader
      // moved to a broker that had already answered, retries without those partitions and resolves: the messages are
      // lost (kafkajs 2.2.4, tulios/kafkajs#1798; found by the broker-fault drill). `publish` retries the whole send.
      retry: { retries: 0 },
    });
    this.producer.on(this.producer.events.CONNECT, () => {
      this.producerConnected = true;
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.producerConnected = false;
    });
  }

  async publish(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closing) throw new Error('KafkaEventBus is closed');
    if (messages.length === 0) return;
    await this.connectProducer();
    const record = {
      topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ? { ...m.headers } : undefined })),
    };
    // Each attempt is a fresh send of every message (kafkajs refreshes its metadata when an attempt fails), so a
    // partial failure can publish some messages twice (consumers dedupe by id) but never drops one.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send(record);
        return;
      } catch (err) {
        if (this.closing || attempt >= PUBLISH_RETRIES) throw err;
        const delay = Math.min(PUBLISH_RETRY_MAX_MS, redeliveryDelay(PUBLISH_RETRY_BASE_MS, attempt + 1)) * (0.8 + 0.4 * Math.random());
        this.logger?.warn({ topic, attempt: attempt + 1, retryInMs: Math.round(delay), err: errorMessage(err) }, 'kafka publish failed; sending the batch again');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** `options` may carry the Kafka-only `partitionConcurrency` (KafkaSubscribeOptions). */
  async subscribe(options: SubscribeOptions | KafkaSubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    if (this.closing) throw new Error('KafkaEventBus is closed');
    const sub = new KafkaSubscription(this.kafka, options, handler, this.logger, () => this.subscriptions.delete(sub));
    this.subscriptions.add(sub);
    try {
      await sub.start();
    } catch (err) {
      await sub.close().catch(() => undefined);
      throw err;
    }
    return sub;
  }

  /** Broker reachability: a metadata request (DescribeCluster) that must answer within 3 s. */
  async health(): Promise<DependencyHealth> {
    if (this.closing) return { name: 'kafka', ok: false, detail: 'event bus closed' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const brokers = await Promise.race([
        this.probe(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no metadata answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
        }),
      ]);
      return { name: 'kafka', ok: true, detail: `${brokers} broker(s); producer ${this.producerConnected ? 'connected' : 'idle'}` };
    } catch (err) {
      return { name: 'kafka', ok: false, detail: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lag of every partition this process's subscriptions hold, from the high watermark of their last fetch. */
  consumerLag(): ConsumerLagSample[] {
    return [...this.subscriptions].flatMap((s) => s.consumerLag());
  }

  offsetResets(): OffsetResetSample[] {
    return [...this.resets.values()];
  }

  private countOffsetReset(log: Record<string, unknown>): void {
    const topic = String(log['topic'] ?? '');
    const partition = Number(log['partition'] ?? -1);
    const group = String(log['groupId'] ?? '');
    const key = `${topic}\0${partition}\0${group}`;
    const s = this.resets.get(key);
    if (s) s.resets += 1;
    else this.resets.set(key, { topic, partition, group, resets: 1 });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      if (this.producerReady) await this.producer.disconnect().catch((err: unknown) => this.logger?.warn({ err: errorMessage(err) }, 'kafka producer disconnect failed'));
      if (this.adminReady) await this.adminReady.then((admin) => admin.disconnect()).catch(() => undefined);
    })();
    return this.closing;
  }

  private connectProducer(): Promise<void> {
    this.producerReady ??= this.producer.connect().catch((err: unknown) => {
      this.producerReady = null;
      throw err;
    });
    return this.producerReady;
  }

  /**
   * How many partitions `topic` has, from the cluster's metadata (the bus's one admin connection, no retries: a dead
   * broker answers fast); null when the topic does not exist yet or the broker cannot be reached. Not cached here.
   */
  async partitionCount(topic: string): Promise<number | null> {
    try {
      const { topics } = await (await this.admin()).fetchTopicMetadata({ topics: [topic] });
      const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      return n > 0 ? n : null;
    } catch {
      return null;
    }
  }

  private async probe(): Promise<number> {
    const { brokers } = await (await this.admin()).describeCluster();
    return brokers.length;
  }

  /** The bus's admin connection (probe client: no retries), opened on first use and again after a failed open. */
  private admin(): Promise<Admin> {
    this.adminReady ??= (async () => {
      const admin = this.probeClient.admin({ retry: { retries: 0 } });
      await admin.connect();
      return admin;
    })().catch((err: unknown) => {
      this.adminReady = null;
      throw err;
    });
    return this.adminReady;
  }

  private bridgeLog(entry: LogEntry): void {
    if (entry.log.message === OFFSET_RESET_MESSAGE) this.countOffsetReset(entry.log as unknown as Record<string, unknown>);
    const logger = this.logger;
    if (!logger) return;
    const fields: Record<string, unknown> = { namespace: entry.namespace };
    const log = entry.log as unknown as Record<string, unknown>;
    for (const k of LOG_FIELDS) if (log[k] !== undefined) fields[k] = log[k];
    const msg = `kafkajs: ${entry.log.message}`;
    if (entry.level === logLevel.ERROR) logger.error(fields, msg);
    else if (entry.level === logLevel.WARN) logger.warn(fields, msg);
    else logger.info(fields, msg);
  }
}

class KafkaSubscription implements Subscription {
  private readonly consumer: Consumer;
  private readonly stop = new AbortController();
  private closing = false;
  private closed: Promise<void> | null = null;
  private assigned = new Set<number>();
  /** Assignment callbacks run in order; batches wait for them (state restore before processing). */
  private callbacks: Promise<void> = Promise.resolve();
  private readonly failures = new Map<number, number>();
  /** Start offsets returned by onAssigned, applied (by a seek) before the partition's first batch is handled. */
  private readonly pendingSeeks = new Map<number, string>();
  /** Per held partition: high watermark of the last fetched batch and the next offset to process (for consumerLag). */
  private readonly lag = new Map<number, { highWatermark: string; next: string }>();
  private readonly concurrency: number;
  private readonly merging: boolean;
  /** Batches of the current fetch waiting for the merged call that setImmediate schedules. */
  private mergeQueue: MergeEntry[] = [];
  private readonly pipelined: boolean;
  private readonly lanes = new Map<number, Lane>();
  /** pipelined: batches accepted and not finished, their bound, handler calls running, and who waits for either. */
  private outstanding = 0;
  private readonly outstandingLimit: number;
  private runningCalls = 0;
  private readonly capacityWaiters: (() => void)[] = [];
  private readonly slotWaiters: (() => void)[] = [];

  constructor(
    kafka: InstanceType<typeof Kafka>,
    private readonly options: KafkaSubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly logger: BusLogger | undefined,
    private readonly onClosed: () => void,
  ) {
    this.merging = options.mergePartitions === true;
    this.pipelined = options.pipelined === true && !this.merging;
    this.concurrency = this.merging
      ? MAX_PARTITION_CONCURRENCY
      : Math.min(MAX_PARTITION_CONCURRENCY, Math.max(1, Math.floor(options.partitionConcurrency ?? 1)));
    this.outstandingLimit = 2 * this.concurrency;
    // One fetch brings a full handler batch per partition (kafkajs' default is 1 MiB, ~1,000 messages of 1 KB), and
    // the fetch as a whole has room for every partition handled at once. minBytes stays 1: a fetch returns as soon
    // as anything is there, so latency-sensitive consumers (anomalies → alert) never wait for a fuller batch.
    const perPartition = partitionFetchBytes(Math.max(1, options.maxBatchSize ?? DEFAULT_MAX_BATCH));
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      maxBytesPerPartition: perPartition,
      maxBytes: this.pipelined ? Math.max(perPartition, PIPELINED_FETCH_BYTES) : Math.max(10 * 1024 * 1024, perPartition * Math.max(4, this.concurrency)),
      allowAutoTopicCreation: true,
      retry: { restartOnFailure: async () => !this.closing },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const now = new Set(e.payload.memberAssignment[options.topic] ?? []);
      this.onAssignment(now);
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.logger?.error(
        { topic: options.topic, groupId: options.groupId, err: errorMessage(e.payload.error), restart: e.payload.restart },
        'kafka consumer crashed',
      );
      // kafkajs leaves the group on a crash; a restart joins again and reports a fresh assignment.
      const held = [...this.assigned];
      this.assigned = new Set();
      this.lag.clear();
      this.dropLanes(held);
      if (held.length) this.enqueueCallback('onRevoked', held);
      // kafkajs gives up for good on an error it deems non-retriable (the broker answering a JoinGroup/SyncGroup with a
      // protocol error, for one): the consumer is disconnected and the process would stay up consuming nothing.
      if (!e.payload.restart && !this.closing) void this.restartAfterFatalCrash();
    });
  }

  /** Connects, subscribes and runs again (as kafkajs does after a retriable crash), backing off while that fails. */
  private async restartAfterFatalCrash(): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      const delay = redeliveryDelay(this.options.retryDelayMs, attempt);
      this.logger?.warn({ topic: this.options.topic, groupId: this.options.groupId, attempt, retryInMs: delay }, 'kafka consumer stopped after a non-retriable error; restarting it');
      if (!(await abortableDelay(delay, this.stop.signal))) return;
      try {
        await this.start();
        return;
      } catch (err) {
        this.logger?.error({ topic: this.options.topic, groupId: this.options.groupId, err: errorMessage(err) }, 'kafka consumer restart failed');
        await this.consumer.disconnect().catch(() => undefined);
      }
    }
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.concurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Stop fetching, let the in-flight batch finish and commit (kafkajs waits for it), leave the group. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.stop.abort();
      try {
        if (this.pipelined) {
          // Still a member: let running handlers finish and commit, drop what waits, then leave.
          this.dropLanes([...this.lanes.keys()]);
          await Promise.all([...this.lanes.values()].map((l) => l.tail));
        }
        await this.consumer.disconnect();
      } finally {
        const held = [...this.assigned];
        this.assigned = new Set();
        this.lag.clear();
        if (held.length) this.enqueueCallback('onRevoked', held);
        await this.callbacks;
        this.onClosed();
      }
    })();
    return this.closed;
  }

  consumerLag(): ConsumerLagSample[] {
    const group = this.options.groupId;
    return [...this.lag].map(([partition, l]) => ({ topic: this.options.topic, partition, group, lag: lagBetween(l.highWatermark, l.next) }));
  }

  /** kafkajs only reports the new assignment after each join: revoked/assigned are diffs against the last one. */
  private onAssignment(now: Set<number>): void {
    const revoked = [...this.assigned].filter((p) => !now.has(p));
    const added = [...now].filter((p) => !this.assigned.has(p));
    this.assigned = now;
    for (const p of revoked) {
      this.failures.delete(p);
      this.pendingSeeks.delete(p);
      this.lag.delete(p);
    }
    this.dropLanes(revoked);
    this.logger?.info({ topic: this.options.topic, groupId: this.options.groupId, partitions: [...now].sort((a, b) => a - b) }, 'kafka partitions assigned');
    if (revoked.length) this.enqueueCallback('onRevoked', revoked);
    if (added.length) this.enqueueCallback('onAssigned', added);
  }

  private enqueueCallback(which: 'onAssigned' | 'onRevoked', partitions: number[]): void {
    const fn = this.options[which];
    if (!fn) return;
    const sorted = [...partitions].sort((a, b) => a - b);
    this.callbacks = this.callbacks.then(async () => {
      try {
        // pipelined: a revoked partition's running handler finishes before the callback (state checkpoints) runs
        if (which === 'onRevoked') await Promise.all(sorted.map((p) => this.lanes.get(p)?.tail));
        const seeks = await fn(sorted);
        if (which === 'onAssigned' && seeks) {
          for (const [p, offset] of Object.entries(seeks)) if (/^\d+$/.test(offset)) this.pendingSeeks.set(Number(p), offset);
        }
      } catch (err) {
        this.logger?.error({ topic: this.options.topic, groupId: this.options.groupId, partitions: sorted, err: errorMessage(err) }, `event bus ${which} callback failed`);
      }
    });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    await this.callbacks;
    const { batch } = payload;
    const { topic, partition } = batch;
    const seek = this.pendingSeeks.get(partition);
    if (seek !== undefined) {
      // the batch was fetched from the committed offset; drop it and fetch again from where onAssigned asked
      this.pendingSeeks.delete(partition);
      this.consumer.seek({ topic, partition, offset: seek });
      return;
    }
    const maxBatch = Math.max(1, this.options.maxBatchSize ?? DEFAULT_MAX_BATCH);
    const messages = batch.messages.map((m) => toInbound(topic, partition, m));
    const lag = { highWatermark: batch.highWatermark, next: messages[0]?.offset ?? batch.highWatermark };
    this.lag.set(partition, lag);
    if (this.merging) return this.joinMergedCall(payload, messages, lag);
    if (this.pipelined) return this.queueOnLane(payload, messages, lag);
    const ctx: BatchContext = {
      topic,
      partition,
      heartbeat: () => payload.heartbeat(),
      isRunning: () => !this.closing && payload.isRunning(),
    };
    for (let i = 0; i < messages.length; i += maxBatch) {
      if (i > 0 && (!ctx.isRunning() || payload.isStale())) return;
      const chunk = messages.slice(i, i + maxBatch);
      const first = chunk[0]!;
      const last = chunk[chunk.length - 1]!;
      try {
        await this.handler(chunk, ctx);
      } catch (err) {
        await this.redeliverLater(payload, first, err);
        return;
      }
      // commitOffsetsIfNecessary(offsets) commits exactly these offsets, even while the consumer is stopping
      // (consumer.commitOffsets is a no-op once stop() began, which would lose the drained batch's commit).
      const next = (BigInt(last.offset) + 1n).toString();
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
      payload.resolveOffset(last.offset);
      lag.next = next;
      this.failures.delete(partition);
    }
  }

  /**
   * pipelined: the batch's chunks are queued on the partition's lane and its offsets resolved (the next fetch starts
   * after them), so kafkajs fetches on at once unless too many chunks wait already.
   */
  private async queueOnLane(payload: EachBatchPayload, messages: InboundMessage[], lag: { highWatermark: string; next: string }): Promise<void> {
    const { partition } = payload.batch;
    let lane = this.lanes.get(partition);
    if (!lane) this.lanes.set(partition, (lane = { tail: Promise.resolve(), generation: 0, blocked: false, accepted: -1n }));
    // fetched before a failure paused and sought the partition back: dropped, unresolved (the seek refetches it)
    if (lane.blocked || this.closing) return;
    const generation = lane.generation;
    // After a rejoin that kept the partition, kafkajs fetches again from the committed offset: what is queued already is
    // not queued twice.
    let from = 0;
    while (from < messages.length && BigInt(messages[from]!.offset) <= lane.accepted) from++;
    if (from > 0) {
      messages = messages.slice(from);
      payload.resolveOffset(lane.accepted.toString());
    }
    const maxBatch = Math.max(1, this.options.maxBatchSize ?? DEFAULT_MAX_BATCH);
    for (let i = 0; i < messages.length; i += maxBatch) {
      while (this.outstanding >= this.outstandingLimit) await this.waitForCapacity(payload);
      if (lane.generation !== generation || this.closing || !payload.isRunning()) return;
      const chunk = messages.slice(i, i + maxBatch);
      this.outstanding += 1;
      payload.resolveOffset(chunk[chunk.length - 1]!.offset);
      lane.accepted = BigInt(chunk[chunk.length - 1]!.offset);
      const l = lane;
      lane.tail = lane.tail
        .then(() => this.runLaneChunk(payload, l, generation, chunk, lag))
        .finally(() => {
          this.outstanding -= 1;
          this.capacityWaiters.shift()?.();
        });
    }
  }

  /** Until a queued chunk finishes; heartbeats meanwhile (kafkajs does not while its eachBatch waits here). */
  private async waitForCapacity(payload: EachBatchPayload): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    const freed = await new Promise<boolean>((resolve) => {
      waiter = () => resolve(true);
      this.capacityWaiters.push(waiter);
      timer = setTimeout(() => resolve(false), BACKOFF_HEARTBEAT_MS);
    });
    clearTimeout(timer);
    if (!freed) {
      const i = this.capacityWaiters.indexOf(waiter!);
      if (i >= 0) this.capacityWaiters.splice(i, 1);
      await payload.heartbeat().catch(() => undefined);
    }
  }

  /** One queued chunk: wait for a handler slot, handle, commit; never throws (a failure blocks the lane instead). */
  private async runLaneChunk(payload: EachBatchPayload, lane: Lane, generation: number, chunk: InboundMessage[], lag: { next: string }): Promise<void> {
    if (lane.generation !== generation) return;
    if (this.runningCalls >= this.concurrency) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    else this.runningCalls += 1;
    try {
      if (lane.generation !== generation) return;
      const { topic, partition } = payload.batch;
      const ctx: BatchContext = {
        topic,
        partition,
        heartbeat: () => payload.heartbeat(),
        isRunning: () => !this.closing && lane.generation === generation,
      };
      const first = chunk[0]!;
      try {
        await this.handler(chunk, ctx);
      } catch (err) {
        this.blockLane(lane, partition, first, err);
        return;
      }
      const next = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
      try {
        await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
      } catch (err) {
        // handled but not committed (a rebalance took the partition, or the coordinator is away): fetched and handled
        // again from this chunk, by this member after the backoff or by the partition's next owner
        this.blockLane(lane, partition, first, err);
        return;
      }
      lag.next = next;
      this.failures.delete(partition);
    } finally {
      const waiter = this.slotWaiters.shift();
      if (waiter) waiter(); // the slot passes straight on
      else this.runningCalls -= 1;
    }
  }

  /** A chunk failed: drop the lane's queued chunks, pause and seek the partition back to it, resume after a backoff. */
  private blockLane(lane: Lane, partition: number, first: InboundMessage, err: unknown): void {
    const { topic } = this.options;
    lane.generation += 1;
    lane.accepted = -1n;
    const failures = (this.failures.get(partition) ?? 0) + 1;
    this.failures.set(partition, failures);
    if (this.closing || !this.assigned.has(partition)) return;
    const delay = redeliveryDelay(this.options.retryDelayMs, failures);
    this.logger?.warn(
      { topic, partition, groupId: this.options.groupId, offset: first.offset, failures, retryInMs: delay, err: errorMessage(err) },
      'event bus handler failed; batch will be redelivered',
    );
    lane.blocked = true;
    try {
      this.consumer.pause([{ topic, partitions: [partition] }]);
      this.consumer.seek({ topic, partition, offset: first.offset });
    } catch (e) {
      this.logger?.warn({ topic, partition, err: errorMessage(e) }, 'could not pause and seek back a failed partition (consumer not running)');
    }
    const generation = lane.generation;
    lane.tail = lane.tail.then(async () => {
      await abortableDelay(delay, this.stop.signal);
      if (lane.generation !== generation || this.closing) return;
      lane.blocked = false;
      try {
        this.consumer.resume([{ topic, partitions: [partition] }]);
      } catch {
        // not running any more: the next run starts from the committed offsets
      }
    });
  }

  /** Queued chunks of these partitions are dropped (unhandled, uncommitted: refetched by whoever holds them next). */
  private dropLanes(partitions: number[]): void {
    for (const p of partitions) {
      const lane = this.lanes.get(p);
      if (!lane) continue;
      lane.generation += 1;
      lane.accepted = -1n;
      if (lane.blocked) {
        lane.blocked = false;
        try {
          this.consumer.resume([{ topic: this.options.topic, partitions: [p] }]);
        } catch {
          // not running: nothing paused to undo
        }
      }
    }
  }

  /**
   * mergePartitions: the batch waits for the merged call of its fetch. kafkajs hands a fetch's batches to its workers
   * in one go and each reaches here within a few microtasks, so a call scheduled with setImmediate takes them all; a
   * straggler starts a call of its own (other partitions, so order still holds). Resolves once the batch's messages
   * are handled and committed or, after a failure, once its redelivery is arranged, as onBatch does for one partition.
   */
  private joinMergedCall(payload: EachBatchPayload, messages: InboundMessage[], lag: MergeEntry['lag']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.mergeQueue.length === 0) {
        setImmediate(() => {
          const entries = this.mergeQueue;
          this.mergeQueue = [];
          this.runMergedCalls(entries).then(
            () => entries.forEach((e) => e.resolve()),
            (err: unknown) => entries.forEach((e) => e.reject(err)),
          );
        });
      }
      this.mergeQueue.push({ payload, messages, lag, next: 0, resolve, reject });
    });
  }

  /** Handler calls of up to maxBatchSize messages over the entries' partitions until all are handled (or redelivered). */
  private async runMergedCalls(entries: MergeEntry[]): Promise<void> {
    const maxBatch = Math.max(1, this.options.maxBatchSize ?? DEFAULT_MAX_BATCH);
    const lead = entries[0];
    if (!lead) return;
    const ctx: BatchContext = {
      topic: this.options.topic,
      partition: lead.payload.batch.partition,
      heartbeat: () => lead.payload.heartbeat(),
      isRunning: () => !this.closing && lead.payload.isRunning(),
    };
    for (let call = 0; ; call++) {
      // After the first call, as onBatch does: stop when closing, and leave a partition that was sought elsewhere.
      if (call > 0 && !ctx.isRunning()) return;
      const live = entries.filter((e) => e.next < e.messages.length && !(call > 0 && e.payload.isStale()));
      if (live.length === 0) return;
      const chunk: InboundMessage[] = [];
      const parts: { entry: MergeEntry; end: number }[] = [];
      for (const entry of live) {
        if (chunk.length >= maxBatch) break;
        const end = Math.min(entry.messages.length, entry.next + (maxBatch - chunk.length));
        for (let i = entry.next; i < end; i++) chunk.push(entry.messages[i]!);
        parts.push({ entry, end });
      }
      ctx.partition = chunk[0]!.partition;
      try {
        await this.handler(chunk, ctx);
      } catch (err) {
        // Every partition not yet fully handled (in this call or waiting for the next) starts again at its next message.
        await Promise.all(live.map((e) => this.redeliverLater(e.payload, e.messages[e.next]!, err)));
        return;
      }
      const offsets = parts.map(({ entry, end }) => ({ partition: entry.payload.batch.partition, offset: (BigInt(entry.messages[end - 1]!.offset) + 1n).toString() }));
      await lead.payload.commitOffsetsIfNecessary({ topics: [{ topic: this.options.topic, partitions: offsets }] });
      parts.forEach(({ entry, end }, i) => {
        entry.payload.resolveOffset(entry.messages[end - 1]!.offset);
        entry.lag.next = offsets[i]!.offset;
        entry.next = end;
        this.failures.delete(entry.payload.batch.partition);
      });
    }
  }

  /** Leave the failed messages unresolved and seek back to them, after a backoff that close() cuts short. */
  private async redeliverLater(payload: EachBatchPayload, first: InboundMessage, err: unknown): Promise<void> {
    const { topic, partition } = payload.batch;
    const failures = (this.failures.get(partition) ?? 0) + 1;
    this.failures.set(partition, failures);
    const delay = redeliveryDelay(this.options.retryDelayMs, failures);
    this.logger?.warn(
      { topic, partition, groupId: this.options.groupId, offset: first.offset, failures, retryInMs: delay, err: errorMessage(err) },
      'event bus handler failed; batch will be redelivered',
    );
    let remaining = delay;
    while (remaining > 0 && !this.closing) {
      const step = Math.min(remaining, BACKOFF_HEARTBEAT_MS);
      if (!(await abortableDelay(step, this.stop.signal))) break;
      remaining -= step;
      if (remaining > 0) await payload.heartbeat();
    }
    if (!this.closing) this.consumer.seek({ topic, partition, offset: first.offset });
  }
}

function toInbound(topic: string, partition: number, m: KafkaMessage): InboundMessage {
  return new KafkaInboundMessage(topic, partition, m);
}

/**
 * A fetched record. Its value is decoded from the record's bytes when read (each read decodes again), not when the
 * batch is fetched: a handler that reads each value once (every consumer here) makes each string just before it needs
 * it, and it dies young, instead of a batch's worth of strings (4 MB for 4,000 raw gateway logs) surviving the
 * scavenges of the whole batch's processing and being promoted. bench:ingest, 300k records, alternating A/B at load
 * ~11: ingest 41 and 41 -> 36 and 35 µs of CPU per event. `value` is a getter: spread or JSON.stringify a message
 * and it is left out.
 */
class KafkaInboundMessage implements InboundMessage {
  readonly offset: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly timestamp: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly record: KafkaMessage,
  ) {
    this.offset = record.offset;
    this.key = record.key === null || record.key === undefined ? null : record.key.toString('utf8');
    this.headers = decodeHeaders(record.headers);
    this.timestamp = Number(record.timestamp);
  }

  get value(): string {
    return this.record.value === null ? '' : this.record.value.toString('utf8');
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined) out[k] = typeof one === 'string' ? one : one.toString('utf8');
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
