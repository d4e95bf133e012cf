import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { IncidentLifecycleEvent, TOPICS, validate } from '@vigil/contracts';
import { EVENT_BUS, LOGGER, VIGIL_CONFIG, type EventBus, type InboundMessage, type Subscription, type VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import { WebhookDispatcher } from './webhook-dispatcher.js';

/**
 * Consumes incident lifecycle events (`vigil.incidents`, published by the incident use cases) in one consumer group
 * per deployment and hands each to the webhook dispatcher. Offsets commit after the deliveries are enqueued on the
 * durable work queue; a redelivered event enqueues nothing new (message ids are per subscription and event id).
 */
@Injectable()
export class IncidentEventsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | null = null;
  private readonly log: Logger;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly dispatcher: WebhookDispatcher,
  ) {
    this.log = logger.child({ component: 'incident-events-consumer' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const groupId = `${this.config.bus.kind === 'kafka' ? this.config.bus.groupPrefix : 'vigil'}-webhooks`;
    this.subscription = await this.bus.subscribe({ topic: TOPICS.incidents, groupId, maxBatchSize: 200 }, (m) => this.handle(m));
    this.log.info({ topic: TOPICS.incidents, groupId }, 'dispatching incident events to webhooks');
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  async handle(messages: InboundMessage[]): Promise<void> {
    for (const m of messages) {
      let json: unknown;
      try {
        json = JSON.parse(m.value);
      } catch {
        json = undefined;
      }
      const r = validate(IncidentLifecycleEvent, json);
      if (!r.ok) {
        this.log.warn({ source: `${m.topic}/${m.partition}@${m.offset}`, reason: r.reason }, 'malformed incident event skipped');
        continue;
      }
      const e = r.value;
      await this.dispatcher.dispatch({ type: e.type, incident: e.incident, eventId: e.eventId, at: e.at });
    }
  }
}
