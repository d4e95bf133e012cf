/**
 * Event bus port. Adapters: Kafka (kafkajs) for distributed mode, in-process for standalone.
 * Semantics both adapters honour (proved by the shared contract suite):
 * - messages with the same key go to the same partition and keep their order;
 * - a handler receives batches from one partition at a time (unless a Kafka subscription asks for a fetch's
 *   partitions in one call: KafkaSubscribeOptions.mergePartitions);
 * - a batch is acknowledged (offsets committed) only after the handler resolves;
 *   if it throws, the same messages are redelivered (at-least-once);
 * - one consumer group shares the partitions among its members; different groups each get every message.
 */
export interface OutboundMessage {
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

export interface InboundMessage {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets exceed 2^53 in principle). */
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** Broker/append timestamp, epoch ms. */
  timestamp: number;
}

export interface BatchContext {
  topic: string;
  partition: number;
  /** Keep group membership alive during long batches. */
  heartbeat(): Promise<void>;
  /** False once the subscription is closing: long handlers may stop early and throw to get a redelivery. */
  isRunning(): boolean;
}

/** Partition → offset (decimal string) to start consuming at. */
export type StartOffsets = Record<number, string>;

export type BatchHandler = (messages: InboundMessage[], ctx: BatchContext) => Promise<void>;

export interface SubscribeOptions {
  topic: string;
  groupId: string;
  /** Start from the earliest retained offset when the group has no committed offset (default true). */
  fromBeginning?: boolean;
  /** Upper bound on messages per handler call (the adapter may deliver fewer). */
  maxBatchSize?: number;
  /**
   * Called when partitions are assigned to / revoked from this member (for state restore / checkpoint).
   * `onAssigned` may return offsets to start some partitions at instead of the group's committed offset
   * (state restored from a checkpoint replays what came after it); no message of a partition is delivered
   * before its callback has finished.
   */
  onAssigned?: (partitions: number[]) => Promise<void | StartOffsets> | void | StartOffsets;
  onRevoked?: (partitions: number[]) => Promise<void> | void;
  /** Delay before redelivering a batch whose handler failed (default 500 ms, doubling to 30 s). */
  retryDelayMs?: number;
}

export interface Subscription {
  /** Stop fetching, let the in-flight batch finish and commit, then leave the group. */
  close(): Promise<void>;
}

export interface DependencyHealth {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface EventBus {
  readonly kind: 'kafka' | 'inprocess';
  publish(topic: string, messages: OutboundMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  health(): Promise<DependencyHealth>;
  /** Closes every subscription (draining in-flight batches) and the producer. */
  close(): Promise<void>;
}

export const EVENT_BUS = Symbol('EVENT_BUS');
