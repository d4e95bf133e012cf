import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { RequireScopes, type Principal, type WebhookDelivery } from '@vigil/platform';
import { CurrentPrincipal, ZodPipe } from '../api-keys/zod-validation.pipe.js';
import { CreateWebhookBody, DeliveriesQuery, UpdateWebhookBody, type WebhookView } from './webhooks.dto.js';
import { WebhooksService } from './webhooks.service.js';

/** /v1/webhooks — scope webhooks:manage. The secret appears only in the answers that set it. */
@Controller('v1/webhooks')
@RequireScopes('webhooks:manage')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(CreateWebhookBody)) body: CreateWebhookBody) {
    return this.webhooks.create(p, body);
  }

  @Get()
  list(@CurrentPrincipal() p: Principal): Promise<WebhookView[]> {
    return this.webhooks.list(p);
  }

  @Post('deliveries/:id/replay')
  @HttpCode(202)
  replay(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.webhooks.replay(p, id);
  }

  @Get(':id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<WebhookView> {
    return this.webhooks.get(p, id);
  }

  @Patch(':id')
  update(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodPipe(UpdateWebhookBody)) body: UpdateWebhookBody) {
    return this.webhooks.update(p, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<void> {
    return this.webhooks.remove(p, id);
  }

  @Get(':id/deliveries')
  deliveries(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Query(new ZodPipe(DeliveriesQuery)) q: DeliveriesQuery): Promise<WebhookDelivery[]> {
    return this.webhooks.deliveries(p, id, q);
  }
}
