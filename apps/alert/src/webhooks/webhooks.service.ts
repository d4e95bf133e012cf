import { randomBytes } from 'node:crypto';
import { BadRequestException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CLOCK, STORE, WORK_QUEUE, type Clock, type Principal, type Store, type WebhookDelivery, type WebhookSubscription, type WorkQueue } from '@vigil/platform';
import { AuditLog } from '../audit/audit-log.service.js';
import { newWebhookSecret } from './signing.js';
import { SsrfGuard, SsrfRefusal } from './ssrf-guard.js';
import { SubscriptionCache } from './subscription-cache.js';
import type { CreateWebhookBody, DeliveriesQuery, UpdateWebhookBody, WebhookView } from './webhooks.dto.js';
import type { WebhookJob } from './webhook-job.js';

export function webhookView(s: WebhookSubscription): WebhookView {
  return { id: s.id, tenant: s.tenant, url: s.url, events: s.events, minSeverity: s.minSeverity, enabled: s.enabled, createdAt: s.createdAt, updatedAt: s.updatedAt };
}

/** Webhook subscriptions (CRUD), their delivery log and the replay of dead deliveries. Changes are audited. */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(WORK_QUEUE) private readonly queue: WorkQueue<WebhookJob>,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly guard: SsrfGuard,
    private readonly cache: SubscriptionCache,
    private readonly audit: AuditLog,
  ) {}

  async create(p: Principal, body: CreateWebhookBody): Promise<WebhookView & { secret: string }> {
    const tenant = body.tenant ?? p.tenant;
    if (tenant !== p.tenant && !p.scopes.includes('admin')) throw new ForbiddenException('subscribing to another tenant needs scope admin');
    await this.checkTarget(body.url);
    const now = this.clock.now();
    const s: WebhookSubscription = {
      id: `whs_${randomBytes(9).toString('base64url')}`, tenant, url: body.url, secret: body.secret ?? newWebhookSecret(), events: body.events,
      minSeverity: body.minSeverity, enabled: body.enabled, createdAt: now, updatedAt: now, deleted: false,
    };
    await this.store.webhooks.putSubscription(s);
    this.cache.invalidate();
    await this.audit.record({
      actor: p, tenant, action: 'webhook.created', targetType: 'webhook', targetId: s.id,
      details: { url: s.url, events: s.events, minSeverity: s.minSeverity, enabled: s.enabled, secretGenerated: body.secret === undefined },
    });
    return { ...webhookView(s), secret: s.secret };
  }

  async list(p: Principal): Promise<WebhookView[]> {
    return (await this.store.webhooks.listSubscriptions(p.tenant)).map(webhookView);
  }

  async get(p: Principal, id: string): Promise<WebhookView> {
    return webhookView(await this.load(p, id));
  }

  async update(p: Principal, id: string, body: UpdateWebhookBody): Promise<WebhookView & { secret?: string }> {
    const old = await this.load(p, id);
    if (body.url !== undefined) await this.checkTarget(body.url);
    const next: WebhookSubscription = {
      ...old, url: body.url ?? old.url, secret: body.secret ?? old.secret, events: body.events ?? old.events,
      minSeverity: body.minSeverity ?? old.minSeverity, enabled: body.enabled ?? old.enabled, updatedAt: Math.max(this.clock.now(), old.updatedAt + 1),
    };
    await this.store.webhooks.putSubscription(next);
    this.cache.invalidate();
    const changed = Object.keys(body).filter((k) => k !== 'secret');
    await this.audit.record({
      actor: p, tenant: old.tenant, action: 'webhook.updated', targetType: 'webhook', targetId: id,
      details: { changed: body.secret !== undefined ? [...changed, 'secret'] : changed, url: next.url },
    });
    return body.secret !== undefined ? { ...webhookView(next), secret: next.secret } : webhookView(next);
  }

  async remove(p: Principal, id: string): Promise<void> {
    const old = await this.load(p, id);
    await this.store.webhooks.putSubscription({ ...old, deleted: true, enabled: false, updatedAt: Math.max(this.clock.now(), old.updatedAt + 1) });
    this.cache.invalidate();
    await this.audit.record({ actor: p, tenant: old.tenant, action: 'webhook.deleted', targetType: 'webhook', targetId: id, details: { url: old.url } });
  }

  async deliveries(p: Principal, id: string, q: DeliveriesQuery): Promise<WebhookDelivery[]> {
    await this.load(p, id);
    return this.store.webhooks.listDeliveries({ subscriptionId: id, status: q.status, eventId: q.eventId, limit: q.limit });
  }

  /**
   * Replays a dead-lettered message (`:id` = its `webhook-id`, the `eventId` of its delivery records, or the dead job's
   * id): the queue moves it back to waiting with its attempts reset.
   */
  async replay(p: Principal, id: string): Promise<{ replayed: string; subscriptionId: string }> {
    const dead = (await this.queue.deadLetters(10_000)).find((j) => j.id === id || j.data.messageId === id);
    if (!dead) throw new NotFoundException(`no dead-lettered webhook delivery ${id}`);
    const sub = await this.load(p, dead.data.subscriptionId);
    if (!(await this.queue.replay(dead.id))) throw new NotFoundException(`webhook delivery ${id} is no longer dead-lettered`);
    await this.audit.record({
      actor: p, tenant: sub.tenant, action: 'webhook_delivery.replayed', targetType: 'webhook_delivery', targetId: dead.data.messageId,
      details: { subscriptionId: sub.id, attempts: dead.attempts, error: dead.error },
    });
    return { replayed: dead.data.messageId, subscriptionId: sub.id };
  }

  private async checkTarget(url: string): Promise<void> {
    try {
      await this.guard.check(url);
    } catch (e) {
      if (e instanceof SsrfRefusal) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `url: ${e.message}` });
      throw e;
    }
  }

  private async load(p: Principal, id: string): Promise<WebhookSubscription> {
    const s = await this.store.webhooks.getSubscription(id);
    if (!s || s.deleted || (s.tenant !== p.tenant && !p.scopes.includes('admin'))) throw new NotFoundException(`no webhook ${id}`);
    return s;
  }
}
