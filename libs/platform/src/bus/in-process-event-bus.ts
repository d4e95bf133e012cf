import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import type {
  BatchContext,
  BatchHandler,
  DependencyHealth,
  EventBus,
  InboundMessage,
  OutboundMessage,
  StartOffsets,
  SubscribeOptions,
  Subscription,
} from '../ports/event-bus.js';
import type { ConsumerLagSample, ConsumerLagSource } from './consumer-lag.js';
import { partitionForKey } from './partitioner.js';
import { abortableDelay, redeliveryDelay } from './retry-delay.js';

export interface BusLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface InProcessEventBusOptions {
  /** Partitions of every topic (default 4, as the Kafka-protocol broker auto-creates). */
  partitions?: number;
  /**
   * Retention cap per partition for entries some group has not committed past yet (default 100 000).
   * Like Kafka retention: a group lagging further than this loses the oldest entries and resumes at the
   * earliest one retained.
   */
  maxRetainedPerPartition?: number;
  /** Source of message timestamps. */
  clock?: Clock;
  logger?: BusLogger;
}

const DEFAULT_PARTITIONS = 4;
const DEFAULT_MAX_RETAINED = 100_000;
const DEFAULT_MAX_BATCH = 500;

/**
 * Round-robin assignment of partitions to the members of a group, in the given member order
 * (join order). Every partition gets exactly one member; member counts differ by at most one.
 */
export function assignPartitions(partitionCount: number, memberIds: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>(memberIds.map((id) => [id, []]));
  if (memberIds.length === 0) return out;
  for (let p = 0; p < partitionCount; p++) {
    out.get(memberIds[p % memberIds.length]!)!.push(p);
  }
  return out;
}

/** One partition's retained log. Offsets are dense and start at 0. */
class PartitionLog {
  /** Offset of entries[head]. */
  private start = 0;
  private head = 0;
  private entries: InboundMessage[] = [];

  get startOffset(): number {
    return this.start;
  }

  get endOffset(): number {
    return this.start + this.entries.length - this.head;
  }

  append(build: (offset: number) => InboundMessage): void {
    this.entries.push(build(this.endOffset));
  }

  read(from: number, max: number): InboundMessage[] {
    const first = Math.max(from, this.start);
    const i = this.head + (first - this.start);
    return this.entries.slice(i, i + Math.max(1, max));
  }

  /** Forget every entry below `offset`. */
  trimBelow(offset: number): void {
    const n = Math.min(offset - this.start, this.entries.length - this.head);
    if (n <= 0) return;
    this.head += n;
    this.start += n;
    if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  get retained(): number {
    return this.entries.length - this.head;
  }
}

interface Topic {
  name: string;
  logs: PartitionLog[];
  groups: Map<string, Group>;
  roundRobin: number;
}

interface Group {
  id: string;
  topic: Topic;
  /** Next offset to deliver per partition once assigned; advanced only by successful batches. */
  committed: number[];
  members: Member[];
  /** Rebalances run one at a time. */
  rebalancing: Promise<void>;
}

interface Member {
  id: string;
  group: Group;
  options: SubscribeOptions;
  handler: BatchHandler;
  active: boolean;
  /** Partitions this member fetches from. */
  assigned: Set<number>;
  /** Next offset to fetch per assigned partition. */
  positions: Map<number, number>;
  failures: Map<number, number>;
  inFlight: { partition: number; done: Promise<void> } | null;
  closing: boolean;
  stop: AbortController;
  wakeUp: (() => void) | null;
  loop: Promise<void> | null;
  closed: Promise<void> | null;
  roundRobin: number;
}

/**
 * Event bus for standalone mode: Kafka's semantics in memory. Topics are created on first use with a
 * fixed partition count; keyed messages go to the partition murmur2 picks (as Kafka would); every group
 * gets every message; the members of a group share the partitions, rebalanced when members join or leave;
 * a batch (from one partition) is committed only after its handler resolves, and redelivered after a
 * backoff when it throws. Entries every group has committed past are dropped.
 */
export class InProcessEventBus implements EventBus, ConsumerLagSource {
  readonly kind = 'inprocess' as const;
  private readonly partitions: number;
  private readonly maxRetained: number;
  private readonly clock: Clock;
  private readonly logger: BusLogger | undefined;
  private readonly topics = new Map<string, Topic>();
  private readonly subscriptions = new Set<Member>();
  private memberSeq = 0;
  private closed = false;

  constructor(opts: InProcessEventBusOptions = {}) {
    const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer (got ${partitions})`);
    this.partitions = partitions;
    this.maxRetained = Math.max(1, opts.maxRetainedPerPartition ?? DEFAULT_MAX_RETAINED);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
  }

  async publish(topicName: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) throw new Error('InProcessEventBus is closed');
    if (messages.length === 0) return;
    const topic = this.topic(topicName);
    const timestamp = this.clock.now();
    const touched = new Set<number>();
    for (const m of messages) {
      const partition = m.key === null ? topic.roundRobin++ % this.partitions : partitionForKey(m.key, this.partitions);
      const log = topic.logs[partition]!;
      log.append((offset) =>
        Object.freeze({
          topic: topicName,
          partition,
          offset: String(offset),
          key: m.key,
          value: m.value,
          headers: Object.freeze({ ...(m.headers ?? {}) }),
          timestamp,
        }),
      );
      touched.add(partition);
    }
    for (const p of touched) this.trim(topic, p);
    for (const group of topic.groups.values()) for (const member of group.members) wake(member);
  }

  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    if (this.closed) throw new Error('InProcessEventBus is closed');
    const topic = this.topic(options.topic);
    let group = topic.groups.get(options.groupId);
    if (!group) {
      const fromBeginning = options.fromBeginning ?? true;
      group = {
        id: options.groupId,
        topic,
        committed: topic.logs.map((log) => (fromBeginning ? log.startOffset : log.endOffset)),
        members: [],
        rebalancing: Promise.resolve(),
      };
      topic.groups.set(group.id, group);
    }
    this.memberSeq += 1;
    const member: Member = {
      id: `${options.groupId}#${this.memberSeq}`,
      group,
      options,
      handler,
      active: true,
      assigned: new Set(),
      positions: new Map(),
      failures: new Map(),
      inFlight: null,
      closing: false,
      stop: new AbortController(),
      wakeUp: null,
      loop: null,
      closed: null,
      roundRobin: 0,
    };
    group.members.push(member);
    this.subscriptions.add(member);
    member.loop = this.run(member);
    await this.rebalance(group);
    return { close: () => this.closeMember(member) };
  }

  async health(): Promise<DependencyHealth> {
    return this.closed ? { name: 'event-bus', ok: false, detail: 'in-process bus closed' } : { name: 'event-bus', ok: true, detail: 'in-process' };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((m) => this.closeMember(m)));
  }

  /**
   * Lag of every partition of every group that has a member: entries after the group's committed offset (entries
   * dropped by the retention cap no longer count).
   */
  consumerLag(): ConsumerLagSample[] {
    const out: ConsumerLagSample[] = [];
    for (const topic of this.topics.values()) {
      for (const group of topic.groups.values()) {
        if (!group.members.some((m) => m.active && !m.closing)) continue;
        topic.logs.forEach((log, partition) => {
          const next = Math.max(group.committed[partition]!, log.startOffset);
          out.push({ topic: topic.name, partition, group: group.id, lag: Math.max(0, log.endOffset - next) });
        });
      }
    }
    return out;
  }

  /** Entries retained per partition of a topic (for tests and metrics). */
  retained(topicName: string): number[] {
    return this.topics.get(topicName)?.logs.map((l) => l.retained) ?? [];
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = { name, logs: Array.from({ length: this.partitions }, () => new PartitionLog()), groups: new Map(), roundRobin: 0 };
      this.topics.set(name, t);
    }
    return t;
  }

  /** Drop entries every group has committed past, and anything beyond the retention cap. */
  private trim(topic: Topic, partition: number): void {
    const log = topic.logs[partition]!;
    let floor = Number.POSITIVE_INFINITY;
    for (const g of topic.groups.values()) floor = Math.min(floor, g.committed[partition]!);
    if (floor !== Number.POSITIVE_INFINITY) log.trimBelow(floor);
    if (log.retained > this.maxRetained) log.trimBelow(log.endOffset - this.maxRetained);
  }

  private closeMember(member: Member): Promise<void> {
    member.closed ??= (async () => {
      member.closing = true;
      member.stop.abort();
      wake(member);
      await member.loop;
      member.active = false;
      await this.rebalance(member.group);
      this.subscriptions.delete(member);
    })();
    return member.closed;
  }

  private rebalance(group: Group): Promise<void> {
    group.rebalancing = group.rebalancing.then(() => this.doRebalance(group));
    return group.rebalancing;
  }

  private async doRebalance(group: Group): Promise<void> {
    const active = group.members.filter((m) => m.active && !m.closing);
    const target = assignPartitions(this.partitions, active.map((m) => m.id));
    // Revoke first: a partition changes hands only once its old owner has finished (and committed) the
    // batch it is processing, so no message goes to two members of a settled group.
    for (const m of group.members) {
      const keep = new Set(target.get(m.id) ?? []);
      const revoked = [...m.assigned].filter((p) => !keep.has(p));
      if (revoked.length === 0) continue;
      for (const p of revoked) {
        m.assigned.delete(p);
        m.positions.delete(p);
        m.failures.delete(p);
      }
      while (m.inFlight && revoked.includes(m.inFlight.partition)) await m.inFlight.done;
      await this.callback(m, 'onRevoked', revoked);
    }
    group.members = group.members.filter((m) => m.active);
    for (const m of active) {
      const added = (target.get(m.id) ?? []).filter((p) => !m.assigned.has(p));
      if (added.length === 0) continue;
      const seeks = await this.callback(m, 'onAssigned', added);
      if (m.closing) continue;
      for (const p of added) {
        m.assigned.add(p);
        const log = group.topic.logs[p]!;
        const seek = seeks?.[p];
        // A start offset beyond the end (e.g. from before a restart of this in-memory bus) is ignored; one below what
        // is retained (every group had committed past it) starts at the earliest retained entry, as Kafka's reset would.
        const wanted = seek !== undefined && /^\d+$/.test(seek) ? Number(seek) : NaN;
        const start = wanted <= log.endOffset ? Math.max(wanted, log.startOffset) : group.committed[p]!;
        m.positions.set(p, start);
      }
      wake(m);
    }
  }

  private async callback(m: Member, which: 'onAssigned' | 'onRevoked', partitions: number[]): Promise<StartOffsets | void> {
    const fn = m.options[which];
    if (!fn) return;
    try {
      return (await fn([...partitions].sort((a, b) => a - b))) ?? undefined;
    } catch (err) {
      this.logger?.error({ err, topic: m.options.topic, groupId: m.options.groupId, partitions }, `event bus ${which} callback failed`);
    }
  }

  /** Member fetch loop: one batch at a time, partitions taken in turn. */
  private async run(m: Member): Promise<void> {
    const maxBatch = Math.max(1, m.options.maxBatchSize ?? DEFAULT_MAX_BATCH);
    while (!m.closing) {
      const next = this.nextPartition(m);
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          m.wakeUp = resolve;
        });
        continue;
      }
      const [partition, position] = next;
      const log = m.group.topic.logs[partition]!;
      const batch = log.read(position, maxBatch);
      if (batch.length === 0) continue;
      const done = this.deliver(m, partition, batch);
      m.inFlight = { partition, done: done.then(() => undefined) };
      const failed = await done;
      m.inFlight = null;
      if (failed) {
        const n = (m.failures.get(partition) ?? 0) + 1;
        if (m.assigned.has(partition)) m.failures.set(partition, n);
        await abortableDelay(redeliveryDelay(m.options.retryDelayMs, n), m.stop.signal);
      }
    }
  }

  private nextPartition(m: Member): [number, number] | undefined {
    const parts = [...m.assigned].sort((a, b) => a - b);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[(m.roundRobin + i) % parts.length]!;
      const log = m.group.topic.logs[p]!;
      const pos = Math.max(m.positions.get(p) ?? m.group.committed[p]!, log.startOffset);
      if (pos < log.endOffset) {
        m.roundRobin = (m.roundRobin + i + 1) % parts.length;
        return [p, pos];
      }
    }
    return undefined;
  }

  /** Runs the handler on one batch; commits on success. Resolves `true` when the handler threw. */
  private async deliver(m: Member, partition: number, batch: InboundMessage[]): Promise<boolean> {
    const ctx: BatchContext = {
      topic: m.options.topic,
      partition,
      heartbeat: async () => undefined,
      isRunning: () => !m.closing,
    };
    try {
      await m.handler(batch, ctx);
    } catch (err) {
      this.logger?.warn(
        { err, topic: m.options.topic, groupId: m.options.groupId, partition, firstOffset: batch[0]!.offset },
        'event bus handler failed; batch will be redelivered',
      );
      return true;
    }
    const next = Number(batch[batch.length - 1]!.offset) + 1;
    const group = m.group;
    group.committed[partition] = Math.max(group.committed[partition]!, next);
    if (m.assigned.has(partition)) m.positions.set(partition, next);
    m.failures.delete(partition);
    this.trim(group.topic, partition);
    return false;
  }
}

function wake(m: Member): void {
  const w = m.wakeUp;
  m.wakeUp = null;
  w?.();
}
