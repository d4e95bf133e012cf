import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock/clock.js';
import type { VigilConfig } from '../config/config.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Store } from '../ports/store.js';
import type { RetryPolicy, WorkQueue } from '../ports/work-queue.js';

/*
 * The one place that picks adapters from the configuration. Adapter modules are imported lazily, so a
 * standalone process never loads kafkajs, @clickhouse/client or bullmq, and a distributed one never loads
 * better-sqlite3.
 */

export async function createEventBus(config: VigilConfig, logger: Logger, clock: Clock = systemClock): Promise<EventBus> {
  if (config.bus.kind === 'kafka') {
    const { KafkaEventBus } = await import('../bus/kafka-event-bus.js');
    return new KafkaEventBus({ brokers: config.bus.brokers, clientId: config.bus.clientId, logger });
  }
  const { InProcessEventBus } = await import('../bus/in-process-event-bus.js');
  return new InProcessEventBus({ clock, logger });
}

export async function createStore(config: VigilConfig, clock: Clock = systemClock): Promise<Store> {
  if (config.store.kind === 'clickhouse') {
    const { ClickHouseStore } = await import('../clickhouse/clickhouse-store.js');
    const { url, user, password, database } = config.store;
    return new ClickHouseStore({ url, user, password, database, clock });
  }
  mkdirSync(dirname(config.store.path), { recursive: true });
  const { SqliteStore } = await import('../sqlite/sqlite-store.js');
  return new SqliteStore({ path: config.store.path, clock });
}

/**
 * A named durable queue. In distributed mode the Redis keys are prefixed with the Kafka group prefix, so two
 * deployments (or two test runs) sharing one Redis keep apart the way their consumer groups do.
 */
export async function createWorkQueue<T>(
  config: VigilConfig,
  name: string,
  retry: RetryPolicy,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<WorkQueue<T>> {
  if (config.queue.kind === 'bullmq') {
    const { BullMqWorkQueue } = await import('../queue/bullmq-work-queue.js');
    const prefix = config.groupPrefix;
    return new BullMqWorkQueue<T>({ redisUrl: config.queue.redisUrl, name, retry, prefix, logger });
  }
  mkdirSync(dirname(config.queue.path), { recursive: true });
  const { SqliteWorkQueue } = await import('../sqlite/sqlite-work-queue.js');
  return new SqliteWorkQueue<T>({ path: config.queue.path, name, retry, clock, logger });
}
