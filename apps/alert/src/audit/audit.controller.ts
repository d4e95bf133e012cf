import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { RequireScopes, type Principal } from '@vigil/platform';
import { CurrentPrincipal, ZodPipe } from '../api-keys/zod-validation.pipe.js';
import { AuditLog, type AuditEntryView } from './audit-log.service.js';

const AuditQuery = z.object({
  action: z.string().min(1).max(128).optional(),
  actor: z.string().min(1).max(128).optional(),
  targetId: z.string().min(1).max(256).optional(),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** GET /v1/audit — administrative actions of the caller's tenant, newest first (scope admin). */
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @RequireScopes('admin')
  list(@CurrentPrincipal() p: Principal, @Query(new ZodPipe(AuditQuery)) q: z.infer<typeof AuditQuery>): Promise<AuditEntryView[]> {
    return this.audit.list({ ...q, tenant: p.tenant });
  }
}
