import { Inject, Injectable } from '@nestjs/common';
import { IncidentLifecycleEvent, TOPICS, validate } from '@vigil/contracts';
import { BusConsumer, EVENT_BUS, LOGGER, VIGIL_CONFIG, type ConsumerPlan, type EventBus, type InboundMessage, type VigilConfig } from '@vigil/platform';
import type { Logger } from 'pino';
import { WebhookDispatcher } from './webhook-dispatcher.js';

/**
 * Consumes incident lifecycle events (`vigil.incidents`, published by the incident use cases) in one consumer group
 * per deployment and hands each to the webhook dispatcher. Offsets commit after the deliveries are enqueued on the
 * durable work queue; a redelivered event enqueues nothing new (message ids are per subscription and event id).
 */
@Injectable()
export class IncidentEventsConsumer extends BusConsumer {
  constructor(
    @Inject(EVENT_BUS) bus: EventBus,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly dispatcher: WebhookDispatcher,
  ) {
    super(bus, logger.child({ component: 'incident-events-consumer' }));
  }

  protected plan(): ConsumerPlan {
    return {
      options: { topic: TOPICS.incidents, groupId: `${this.config.groupPrefix}-webhooks`, maxBatchSize: 200 },
      handler: (messages) => this.handle(messages),
      what: 'dispatching incident events to webhooks',
    };
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
