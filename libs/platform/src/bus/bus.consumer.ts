import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { BatchHandler, EventBus, SubscribeOptions, Subscription } from '../ports/event-bus.js';
import type { Logger } from 'pino';

/** What a consumer reads and how it hands batches on. */
export interface ConsumerPlan {
  options: SubscribeOptions;
  handler: BatchHandler;
  /** Logged once the subscription is live, with the topic and group. */
  what: string;
}

/**
 * The subscription lifecycle every bus consumer shares: subscribe once every module is initialised
 * (onApplicationBootstrap), close the subscription on shutdown (its in-flight batch finishes, offsets stay committed
 * only for handled batches). A subclass only says what it consumes.
 */
export abstract class BusConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;

  protected constructor(
    private readonly bus: EventBus,
    protected readonly log: Logger,
  ) {}

  protected abstract plan(): ConsumerPlan;

  async onApplicationBootstrap(): Promise<void> {
    const { options, handler, what } = this.plan();
    this.subscription = await this.bus.subscribe(options, handler);
    this.log.info({ topic: options.topic, groupId: options.groupId }, what);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }
}
