import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, STORE, type AuditEntry, type AuditFilter, type Clock, type Principal, type Store } from '@vigil/platform';

export interface AuditAction {
  /** The key that did it, or 'system' (first-run bootstrap). */
  actor: Principal | 'system';
  tenant: string;
  action: string;
  targetType: string;
  targetId: string;
  /** Kept as JSON; never put a secret or token here. */
  details?: Record<string, unknown>;
}

export interface AuditEntryView {
  id: string;
  tenant: string;
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
}

/** Records administrative actions and lists them (GET /v1/audit). */
@Injectable()
export class AuditLog {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async record(a: AuditAction): Promise<void> {
    await this.store.audit.append([
      {
        id: `aud_${randomUUID()}`, tenant: a.tenant, at: this.clock.now(), actor: a.actor === 'system' ? 'system' : `key:${a.actor.keyId}`,
        action: a.action, targetType: a.targetType, targetId: a.targetId, details: JSON.stringify(a.details ?? {}),
      },
    ]);
  }

  async list(filter: AuditFilter): Promise<AuditEntryView[]> {
    return (await this.store.audit.list(filter)).map(view);
  }
}

function view(e: AuditEntry): AuditEntryView {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(e.details) as Record<string, unknown>;
  } catch {
    details = { raw: e.details };
  }
  return { ...e, details };
}
