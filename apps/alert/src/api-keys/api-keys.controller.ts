import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { RequireScopes, type Principal } from '@vigil/platform';
import { CreateApiKeyBody, RotateApiKeyBody, type ApiKeyView, type CreatedApiKey } from './api-keys.dto.js';
import { ApiKeysService } from './api-keys.service.js';
import { CurrentPrincipal, ZodPipe } from './zod-validation.pipe.js';

/** /v1/api-keys — scope admin. Tokens appear only in the answers of create and rotate. */
@Controller('v1/api-keys')
@RequireScopes('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(CreateApiKeyBody)) body: CreateApiKeyBody): Promise<CreatedApiKey> {
    return this.keys.create(p, p.tenant, body);
  }

  @Get()
  list(@CurrentPrincipal() p: Principal): Promise<ApiKeyView[]> {
    return this.keys.list(p.tenant);
  }

  @Get(':id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<ApiKeyView> {
    return this.keys.get(p.tenant, id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  rotate(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodPipe(RotateApiKeyBody)) body: RotateApiKeyBody) {
    return this.keys.rotate(p, id, body.overlapSeconds);
  }

  @Delete(':id')
  revoke(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<ApiKeyView> {
    return this.keys.revoke(p, id);
  }
}
