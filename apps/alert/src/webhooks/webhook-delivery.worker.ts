import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CLOCK, LOGGER, STORE, VIGIL_CONFIG, WORK_QUEUE, type Clock, type Logger, type Store, type VigilConfig, type WorkQueue } from '@vigil/platform';
import { CircuitBreakers } from './circuit-breaker.js';
import { SsrfGuard } from './ssrf-guard.js';
import { SubscriptionCache } from './subscription-cache.js';
import { WebhookDeliverer } from './webhook-deliverer.js';
import type { WebhookJob } from './webhook-job.js';
import { WEBHOOK_DELIVERY_QUEUE } from './webhook-queue.js';

/**
 * Starts processing the webhook delivery queue when the app has booted (the platform closes the queue on shutdown,
 * waiting for active jobs; each job waits for its delivery-log batch, whose writer stays usable until then).
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private deliverer: WebhookDeliverer | undefined;

  constructor(
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue<WebhookJob>,
    @Inject(STORE) private readonly store: Store,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly guard: SsrfGuard,
    private readonly subscriptions: SubscriptionCache,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config.webhooks;
    const deliverer = (this.deliverer = new WebhookDeliverer({
      store: this.store, queue: this.queue, subscriptions: this.subscriptions, guard: this.guard,
      breakers: new CircuitBreakers({ threshold: c.breakerThreshold, cooldownMs: c.breakerCooldownMs }, this.clock),
      clock: this.clock, logger: this.logger.child({ component: 'webhooks' }), timeoutMs: c.timeoutMs, maxAttempts: WEBHOOK_DELIVERY_QUEUE.retry.maxAttempts,
    }));
    // Not awaited: a queue whose backend (Redis) is down must not hold up boot; /health reports it, and the
    // worker starts taking jobs as soon as it connects.
    this.queue.start(deliverer.handle, c.concurrency).catch((err: unknown) => {
      this.logger.error({ err }, 'webhook delivery worker could not start');
    });
  }

  /** Writes the delivery-log rows waiting for their batch now, before the queue closes. */
  async onModuleDestroy(): Promise<void> {
    await this.deliverer?.flushLog();
  }
}
