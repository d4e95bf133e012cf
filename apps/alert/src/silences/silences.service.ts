import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { SilenceMatcher, type Silence } from '@vigil/contracts';
import { CLOCK, STORE, type Clock, type Principal, type Store } from '@vigil/platform';
import { z } from 'zod';
import { canSee } from '../incidents/change-incident-status.usecase.js';
import { NotFoundError, ValidationError } from '../incidents/domain-errors.js';
import { tenantFor } from '../incidents/incident-queries.js';
import { SilenceCache } from './silence-cache.js';

const epochMs = z.coerce.number().int().nonnegative();

export const SilenceInput = z
  .object({
    kind: z.enum(['silence', 'maintenance']).default('silence'),
    matchers: z.array(SilenceMatcher).max(16).default([]),
    startsAt: epochMs.optional(),
    endsAt: epochMs,
    reason: z.string().trim().min(1).max(1024),
  })
  .strict();
export type SilenceInput = z.infer<typeof SilenceInput>;

export const ListSilencesQuery = z
  .object({ tenant: z.string().min(1).max(128).optional(), active: z.enum(['true', 'false']).optional(), kind: z.enum(['silence', 'maintenance', 'suppression']).optional() })
  .strict();
export type ListSilencesQuery = z.infer<typeof ListSilencesQuery>;

/** CRUD for silences and maintenance windows (suppressions are made by false positives, but can be listed and lifted). */
@Injectable()
export class SilencesService {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly cache?: SilenceCache,
  ) {}

  async create(principal: Principal, input: SilenceInput): Promise<Silence> {
    const now = this.clock.now();
    const silence = this.checked({
      v: 1, id: `sil_${randomUUID()}`, tenant: principal.tenant, kind: input.kind, matchers: input.matchers, startsAt: input.startsAt ?? now,
      endsAt: input.endsAt, reason: input.reason, createdBy: principal.keyId, createdAt: now, updatedAt: now, deleted: false,
    });
    await this.store.silences.put(silence);
    this.cache?.changed();
    return silence;
  }

  list(principal: Principal, q: ListSilencesQuery): Promise<Silence[]> {
    const now = this.clock.now();
    return this.store.silences.list({
      tenant: tenantFor(principal, q.tenant),
      ...(q.active === 'true' ? { activeAt: now } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
    });
  }

  async get(principal: Principal, id: string): Promise<Silence> {
    const s = await this.store.silences.get(id);
    if (!s || s.deleted || !canSee(principal, s)) throw new NotFoundError('silence', id);
    return s;
  }

  async update(principal: Principal, id: string, input: SilenceInput): Promise<Silence> {
    const current = await this.get(principal, id);
    const next = this.checked({
      ...current, kind: current.kind === 'suppression' ? 'suppression' : input.kind, matchers: input.matchers,
      startsAt: input.startsAt ?? current.startsAt, endsAt: input.endsAt, reason: input.reason, updatedAt: this.version(current),
    });
    await this.store.silences.put(next);
    this.cache?.changed();
    return next;
  }

  async remove(principal: Principal, id: string): Promise<void> {
    const current = await this.get(principal, id);
    await this.store.silences.put({ ...current, deleted: true, updatedAt: this.version(current) });
    this.cache?.changed();
  }

  /** A newer version even when the clock has not moved since the last write. */
  private version(current: Silence): number {
    return Math.max(this.clock.now(), current.updatedAt + 1);
  }

  private checked(s: Silence): Silence {
    if (s.endsAt <= s.startsAt) throw new ValidationError(['endsAt: must be after startsAt']);
    return s;
  }
}
