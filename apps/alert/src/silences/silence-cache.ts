import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Silence } from '@vigil/contracts';
import { CLOCK, LOGGER, STORE, VIGIL_CONFIG, type Clock, type Store, type VigilConfig } from '@vigil/platform';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long silences are kept, and how far back a cached list reaches. */
export interface SilenceCacheOptions {
  /** A tenant's list is read again after this long (wall clock) even without a change notice. */
  ttlMs: number;
  /** A list read now also holds the silences that ended up to this long ago, for anomalies detected a little earlier. */
  lookbackMs: number;
}

export const SILENCE_CACHE_OPTIONS = Symbol('SILENCE_CACHE_OPTIONS');
/**
 * With Redis, a change on any instance reaches the others in a pub/sub message (milliseconds), and the TTL only
 * bounds a notice lost while Redis was away; without Redis (one process, e.g. standalone) every change goes through
 * this process and invalidates at once, and the TTL bounds a change made by another process on the same store.
 */
export const DEFAULT_SILENCE_CACHE_OPTIONS = { withRedis: { ttlMs: 10_000, lookbackMs: 3_600_000 }, alone: { ttlMs: 2_000, lookbackMs: 3_600_000 } };

interface Entry {
  /** The list holds every silence that ends after this instant. */
  since: number;
  until: number;
  value: Promise<Silence[]>;
}

/**
 * The silences of each tenant, read once and kept in memory, so an anomaly batch does not read the silences table
 * every time (on ClickHouse a FINAL read per batch). Writes go through `changed` (the REST CRUD and false-positive
 * suppressions call it after their store write): it drops this process's lists at once and, when REDIS_URL is set,
 * tells the other alert instances on a pub/sub channel (prefixed with the deployment's group prefix), which drop
 * theirs. A read under way while a change is announced is returned to its caller but not kept. A list older than
 * `ttlMs` is read again (a notice lost while Redis was away; a change by a process without the cache). Reconnecting
 * to Redis drops every list (notices may have been missed meanwhile).
 */
@Injectable()
export class SilenceCache implements OnModuleInit, OnModuleDestroy {
  private entries = new Map<string, Entry>();
  private pub: Redis | null = null;
  private sub: Redis | null = null;
  private readonly channel: string;
  private readonly options: SilenceCacheOptions;
  private readonly log: Logger;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) private readonly config: Pick<VigilConfig, 'redisUrl' | 'groupPrefix'>,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(SILENCE_CACHE_OPTIONS) options?: SilenceCacheOptions,
  ) {
    this.channel = `${config.groupPrefix}:silences-changed`;
    this.options = options ?? (config.redisUrl ? DEFAULT_SILENCE_CACHE_OPTIONS.withRedis : DEFAULT_SILENCE_CACHE_OPTIONS.alone);
    this.log = logger.child({ component: 'silence-cache' });
  }

  async onModuleInit(): Promise<void> {
    if (!this.config.redisUrl) return;
    let lastError = '';
    const onError = (err: Error): void => {
      if (err.message !== lastError) this.log.warn({ err: err.message }, 'silence change notices: Redis unreachable; retrying (lists are read again every ttlMs meanwhile)');
      lastError = err.message;
    };
    // Not awaited: with Redis down the service still starts; lists expire after ttlMs until notices flow again.
    this.pub = new Redis(this.config.redisUrl, { maxRetriesPerRequest: 2 });
    this.sub = this.pub.duplicate({ maxRetriesPerRequest: null });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    this.sub.on('message', (channel: string) => {
      if (channel === this.channel) this.drop();
    });
    // Every (re)connection: notices sent while this one was away are lost, so forget what is held.
    this.sub.on('ready', () => this.drop());
    void this.sub.subscribe(this.channel).catch((err: unknown) => this.log.warn({ err }, 'silence change notices: subscribe failed'));
  }

  async onModuleDestroy(): Promise<void> {
    const clients = [this.pub, this.sub].filter((c): c is Redis => c !== null);
    this.pub = null;
    this.sub = null;
    await Promise.allSettled(clients.map((c) => c.quit()));
  }

  /** As `store.silences.list({ tenant, endsAfter })`: not deleted, ending after `endsAfter`, by (startsAt, id). */
  async list(tenant: string, endsAfter: number): Promise<Silence[]> {
    const now = this.clock.now();
    const hit = this.entries.get(tenant);
    if (hit && hit.until > now && hit.since <= endsAfter) return (await hit.value).filter((s) => s.endsAt > endsAfter);
    const since = Math.min(endsAfter, now - this.options.lookbackMs);
    const value = this.store.silences.list({ tenant, endsAfter: since });
    const entry: Entry = { since, until: now + this.options.ttlMs, value };
    this.entries.set(tenant, entry);
    const forget = (): void => {
      if (this.entries.get(tenant) === entry) this.entries.delete(tenant);
    };
    // A change announced while this read ran may or may not be in it: `drop` forgets the entry, so it goes to the
    // callers that shared it and to nobody after. A failed read is not kept.
    value.then(undefined, forget);
    return (await value).filter((s) => s.endsAt > endsAfter);
  }

  /** After a silence was written: forget the lists here, and tell the other instances to. Never throws. */
  changed(): void {
    this.drop();
    void this.pub?.publish(this.channel, '1').catch((err: unknown) => this.log.warn({ err }, 'silence change notice not sent; other instances see it within ttlMs'));
  }

  private drop(): void {
    this.entries = new Map();
  }
}
