import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock, Job, JobOutcome, Logger, Store, WebhookDelivery, WebhookSubscription, WorkQueue } from '@vigil/platform';
import { validate } from '@vigil/contracts';
import type { CircuitBreakers } from './circuit-breaker.js';
import { DeliveryLogWriter } from './delivery-log-writer.js';
import { outcomeOf, type AttemptResult } from './delivery-outcome.js';
import { HttpSender } from './http-sender.js';
import { signedHeaders } from './signing.js';
import { SsrfRefusal, type CheckedTarget, type SsrfGuard } from './ssrf-guard.js';
import type { SubscriptionCache } from './subscription-cache.js';
import { WebhookJob, webhookJobId } from './webhook-job.js';

export interface WebhookDelivererOptions {
  store: Store;
  queue: WorkQueue<WebhookJob>;
  subscriptions: SubscriptionCache;
  guard: SsrfGuard;
  breakers: CircuitBreakers;
  clock: Clock;
  logger: Logger;
  /** Per-attempt timeout (ms). */
  timeoutMs: number;
  /** The queue's maxAttempts: the last attempt's failure is recorded as `dead`. */
  maxAttempts: number;
  /** A message whose endpoint stays unreachable (circuit open) longer than this is dead-lettered. Default 24 h. */
  maxAgeMs?: number;
  /** Largest extra delay added to a re-queue while the circuit is open, so deferred messages do not stampede. */
  deferJitterMs?: number;
  random?: () => number;
  /** Keep-alive HTTP client (default: a new one; `close()` closes it). */
  sender?: HttpSender;
  /** The delivery log (default: batches written with `store.webhooks.recordDeliveries`). */
  deliveryLog?: DeliveryLogWriter;
}

/** Successes whose log row could not be written, remembered so the job's retry logs them without sending again. */
const MAX_UNLOGGED_SUCCESSES = 10_000;

const USER_AGENT = 'Vigil-Webhooks/1';

/**
 * Delivers one queued webhook message (the WorkQueue handler). A pipeline of small stages:
 * validate the job → load the subscription (gone or disabled: dropped) → SSRF check of the target, again now
 * (DNS rebinding; the connection is pinned to the checked addresses) → circuit breaker (open: re-queued under a new
 * job id after the cool-down, attempts kept) → sign and POST (keep-alive, HttpSender) with a timeout and no redirects → classify (retryable or not, Retry-After) → record the attempt in
 * the delivery log → tell the breaker. Returns the queue outcome; the queue does the backoff and dead-lettering.
 */
export class WebhookDeliverer {
  private readonly maxAgeMs: number;
  private readonly deferJitterMs: number;
  private readonly random: () => number;
  private readonly sender: HttpSender;
  private readonly log: DeliveryLogWriter;
  /** (subscription, message) → the success row whose write failed; the retry writes it instead of re-sending. */
  private readonly unloggedSuccesses = new Map<string, WebhookDelivery>();

  constructor(private readonly o: WebhookDelivererOptions) {
    this.maxAgeMs = o.maxAgeMs ?? 86_400_000;
    this.deferJitterMs = o.deferJitterMs ?? 1_000;
    this.random = o.random ?? Math.random;
    this.sender = o.sender ?? new HttpSender();
    this.log = o.deliveryLog ?? new DeliveryLogWriter({ write: (rows) => o.store.webhooks.recordDeliveries(rows) });
  }

  /** Writes the delivery-log rows still waiting for their batch (on shutdown, before the queue closes). */
  flushLog(): Promise<void> {
    return this.log.flush();
  }

  /** Closes the kept-alive connections (call after the queue has closed). */
  close(): void {
    this.sender.close();
  }

  readonly handle = async (job: Job<WebhookJob>): Promise<JobOutcome> => {
    const parsed = validate(WebhookJob, job.data);
    if (!parsed.ok) return { ok: false, retryable: false, error: `malformed webhook job: ${parsed.reason}` };
    const data = parsed.value;
    const attempt = data.attemptsBefore + job.attempt;

    // The receiver already has this message: an earlier attempt succeeded but its log row failed to be written.
    const unlogged = this.unloggedSuccesses.get(unloggedKey(data));
    if (unlogged) {
      await this.log.record(unlogged);
      this.unloggedSuccesses.delete(unloggedKey(data));
      return { ok: true };
    }

    const sub = await this.o.subscriptions.get(data.subscriptionId);
    if (!sub || sub.deleted || !sub.enabled) {
      this.o.logger.info({ messageId: data.messageId, subscriptionId: data.subscriptionId }, 'webhook dropped: subscription deleted or disabled');
      return { ok: true };
    }

    let target: CheckedTarget;
    try {
      target = await this.o.guard.target(sub.url);
    } catch (e) {
      if (!(e instanceof SsrfRefusal)) throw e;
      await this.record(data, sub, attempt, 'dead', 0, e.message, 0);
      return { ok: false, retryable: false, error: e.message };
    }

    const decision = this.o.breakers.acquire(sub.url);
    if (!decision.allow) return this.defer(data, job.attempt, decision.retryInMs);

    const started = performance.now();
    const result = await this.send(target, sub, data);
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const outcome = outcomeOf(result, this.o.clock.now());

    if (outcome.ok || !outcome.retryable) this.o.breakers.success(sub.url);
    else this.o.breakers.failure(sub.url);

    const httpStatus = result.kind === 'response' ? result.status : 0;
    const status: WebhookDelivery['status'] = outcome.ok
      ? 'succeeded'
      : !outcome.retryable || job.attempt >= this.o.maxAttempts
        ? 'dead'
        : 'failed';
    await this.record(data, sub, attempt, status, httpStatus, outcome.ok ? '' : outcome.error, durationMs);
    return outcome;
  };

  private send(target: CheckedTarget, sub: WebhookSubscription, data: WebhookJob): Promise<AttemptResult> {
    const timestamp = Math.floor(this.o.clock.now() / 1000);
    return this.sender.post({
      url: target.url,
      addresses: target.addresses,
      body: data.body,
      timeoutMs: this.o.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...signedHeaders(sub.secret, data.messageId, timestamp, data.body),
      },
    });
  }

  /** The endpoint's circuit is open: re-queue the message for after the cool-down, keeping its attempt count. */
  private async defer(data: WebhookJob, jobAttempt: number, retryInMs: number): Promise<JobOutcome> {
    if (this.o.clock.now() - data.createdAt > this.maxAgeMs) {
      return { ok: false, retryable: false, error: `endpoint circuit open for longer than ${this.maxAgeMs} ms` };
    }
    const next: WebhookJob = { ...data, attemptsBefore: data.attemptsBefore + jobAttempt - 1, deferrals: data.deferrals + 1 };
    await this.o.queue.enqueue([
      { id: webhookJobId(data.messageId, next.deferrals), data: next, delayMs: retryInMs + Math.floor(this.random() * this.deferJitterMs) },
    ]);
    this.o.logger.info({ messageId: data.messageId, subscriptionId: data.subscriptionId, retryInMs }, 'webhook deferred: endpoint circuit open');
    return { ok: true };
  }

  private async record(
    data: WebhookJob,
    sub: WebhookSubscription,
    attempt: number,
    status: WebhookDelivery['status'],
    httpStatus: number,
    error: string,
    durationMs: number,
  ): Promise<void> {
    const row: WebhookDelivery = {
      id: `dlv_${randomUUID()}`, subscriptionId: sub.id, eventId: data.messageId, attempt, status, httpStatus, error: error.slice(0, 1024),
      durationMs, at: this.o.clock.now(),
    };
    try {
      await this.log.record(row);
    } catch (err) {
      // The job fails and is retried; a success must not be sent again, only logged (same row id: idempotent).
      if (status === 'succeeded') this.rememberUnlogged(data, row);
      throw err;
    }
    if (status !== 'succeeded') {
      this.o.logger.warn({ messageId: data.messageId, subscriptionId: sub.id, attempt, status, httpStatus, error }, 'webhook delivery failed');
    }
  }

  private rememberUnlogged(data: WebhookJob, row: WebhookDelivery): void {
    if (this.unloggedSuccesses.size >= MAX_UNLOGGED_SUCCESSES) {
      const oldest = this.unloggedSuccesses.keys().next();
      if (!oldest.done) this.unloggedSuccesses.delete(oldest.value);
    }
    this.unloggedSuccesses.set(unloggedKey(data), row);
  }
}

function unloggedKey(data: WebhookJob): string {
  return `${data.subscriptionId}\u0000${data.messageId}`;
}
