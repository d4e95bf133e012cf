import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  SOCKET_NAMESPACE,
  SubscribeRequest,
  validate,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type StreamEventType,
} from '@vigil/contracts';
import { ApiKeyAuthenticator, LOGGER, STORE, VIGIL_CONFIG, presentedKey, type Principal, type Store, type VigilConfig } from '@vigil/platform';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Server, type Namespace, type Socket } from 'socket.io';
import { openRedisAdapter, type RedisAdapterHandle } from './redis-adapter.js';
import { passes, recordTarget, roomOf, type StreamFilter } from './rooms.js';
import { StreamPublisher, type StreamBroadcaster, type StreamPayload } from './stream-publisher.js';
import { WriteCoalescer } from './write-coalescer.js';

interface SocketData {
  principal: Principal;
}
type AlertsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type AlertsSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type SubscribeAck = Parameters<ClientToServerEvents['subscribe']>[1];

/** Sockets that are catching up from the log are in this room; live broadcasts skip it until they are done. */
const REPLAYING = 'replaying';
const REPLAY_PAGE = 500;

/**
 * The live stream: socket.io namespace `/alerts` on the Nest HTTP server (socket.io used directly, typed with the
 * contracts' event maps). Handshake auth by API key with `alerts:read` (`auth: { token }`, or the Authorization /
 * X-API-Key header). `subscribe` joins one room per filter; the tenant is the key's, unless the key is admin.
 * With `lastEventId`, the socket first receives what it missed from the store's live-event log, then live events.
 * With REDIS_URL configured, broadcasts go through the socket.io Redis adapter so every alert instance's clients
 * get every instance's events; otherwise the in-memory adapter.
 */
@Injectable()
export class AlertsGateway implements OnApplicationBootstrap, OnModuleDestroy, StreamBroadcaster {
  private io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData> | null = null;
  private nsp: AlertsNamespace | null = null;
  private redis: RedisAdapterHandle | null = null;
  private readonly log: Logger;

  constructor(
    private readonly host: HttpAdapterHost,
    private readonly auth: ApiKeyAuthenticator,
    private readonly publisher: StreamPublisher,
    @Inject(STORE) private readonly store: Store,
    @Inject(VIGIL_CONFIG) private readonly config: VigilConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'alerts-gateway' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const httpServer = this.host.httpAdapter?.getHttpServer() as HttpServer | undefined;
    if (!httpServer) return; // an application context without HTTP (e.g. a consumer-only test): nothing to attach to
    const prefix = this.config.groupPrefix;
    let lastError = '';
    const onRedisError = (err: Error): void => {
      // ioredis retries on its own; log each distinct failure once, not every reconnect attempt.
      if (err.message !== lastError) this.log.warn({ err: err.message }, 'socket.io Redis adapter: Redis unreachable; retrying');
      lastError = err.message;
    };
    this.redis = this.config.redisUrl ? await openRedisAdapter(this.config.redisUrl, prefix, onRedisError) : null;
    const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer, {
      serveClient: false,
      // Off (engine.io's default, stated): with it on, every client's copy of a broadcast is compressed on its own, and
      // socket.io can no longer send the one WebSocket frame it pre-computes per broadcast.
      perMessageDeflate: false,
      ...(this.redis ? { adapter: this.redis.adapter } : {}),
    });
    const nsp = io.of(SOCKET_NAMESPACE);
    // The events broadcast in one turn (a batch's anomalies and incident changes, local or relayed through Redis)
    // leave in one write per client.
    const coalesced = WriteCoalescer.attach(nsp.adapter, new WriteCoalescer((err: unknown) => this.log.warn({ err }, 'live stream: a client write failed')));
    if (!coalesced) this.log.warn('live stream: socket.io adapter without apply(); broadcasts are written per event');
    nsp.use((socket, next) => {
      void this.authenticate(socket).then(
        (error) => next(error ?? undefined),
        (err: unknown) => next(err instanceof Error ? err : new Error('authentication failed')),
      );
    });
    nsp.on('connection', (socket) => {
      socket.on('subscribe', (req, ack) => {
        void this.subscribe(socket, req, typeof ack === 'function' ? ack : () => undefined);
      });
    });
    this.io = io;
    this.nsp = nsp;
    this.publisher.attach(this);
    this.log.info({ namespace: SOCKET_NAMESPACE, adapter: this.redis ? 'redis' : 'memory' }, 'live stream ready');
  }

  async onModuleDestroy(): Promise<void> {
    this.publisher.attach(null);
    if (this.io) {
      this.io.disconnectSockets(true);
      // Not io.close(): that would close the HTTP server, which Nest closes itself later in the shutdown order.
      this.io.engine.close();
      for (const nsp of this.io._nsps.values()) nsp.adapter.close();
    }
    await this.redis?.close();
    this.io = null;
    this.nsp = null;
    this.redis = null;
  }

  broadcast(type: StreamEventType, payload: StreamPayload, rooms: string[]): void {
    const nsp = this.nsp;
    if (!nsp || !rooms.length) return;
    emitTyped(nsp.to(rooms).except(REPLAYING), type, payload);
  }

  private async authenticate(socket: AlertsSocket): Promise<Error | null> {
    const token = typeof socket.handshake.auth['token'] === 'string' ? (socket.handshake.auth['token'] as string) : presentedKey(socket.handshake.headers);
    const outcome = await this.auth.authenticate(token, socket.handshake.address, ['alerts:read']);
    if (!outcome.ok) {
      const err = new Error(outcome.reason) as Error & { data?: { status: number } };
      err.data = { status: outcome.status };
      return err;
    }
    socket.data.principal = outcome.principal;
    return null;
  }

  /** Join the filter's room; with lastEventId, replay the missed events from the log first (live events wait). */
  private async subscribe(socket: AlertsSocket, raw: unknown, ack: SubscribeAck): Promise<void> {
    const parsed = validate(SubscribeRequest, raw ?? {});
    if (!parsed.ok) return ack({ ok: false, error: parsed.reason });
    const req = parsed.value;
    const principal = socket.data.principal;
    const admin = principal.scopes.includes('admin');
    const filter: StreamFilter = {
      tenant: admin && req.tenant ? req.tenant : principal.tenant,
      ...(req.minSeverity ? { minSeverity: req.minSeverity } : {}),
      ...(req.entityType ? { entityType: req.entityType } : {}),
      ...(req.entity ? { entity: req.entity } : {}),
    };
    const room = roomOf(filter);
    if (req.lastEventId === undefined) {
      await socket.join(room);
      return ack({ ok: true, rooms: [room], replayed: 0 });
    }
    try {
      await socket.join([REPLAYING, room]);
      let cursor = req.lastEventId;
      let replayed = 0;
      const catchUp = async (): Promise<void> => {
        for (;;) {
          const page = await this.store.streamEvents.listAfter({ tenant: filter.tenant, afterEventId: cursor, limit: REPLAY_PAGE });
          for (const r of page) {
            cursor = r.eventId;
            if (!passes(filter, recordTarget(r))) continue;
            emitTyped(socket, r.type, JSON.parse(r.payload) as StreamPayload);
            replayed += 1;
          }
          if (page.length < REPLAY_PAGE) return;
        }
      };
      await catchUp();
      await socket.leave(REPLAYING);
      // Events logged between the last read and leaving the replay room were not broadcast to this socket: read once more.
      await catchUp();
      ack({ ok: true, rooms: [room], replayed });
    } catch (err) {
      await socket.leave(REPLAYING);
      this.log.warn({ err }, 'replay failed');
      ack({ ok: false, error: 'replay failed; retry the subscription' });
    }
  }
}

/** `emit` with the event map's payload type for a runtime event name. */
function emitTyped(
  target: { emit<E extends keyof ServerToClientEvents>(ev: E, ...args: Parameters<ServerToClientEvents[E]>): unknown },
  type: StreamEventType,
  payload: StreamPayload,
): void {
  if (type === 'anomaly.detected') {
    if ('anomaly' in payload) target.emit(type, payload);
  } else if ('incident' in payload) {
    target.emit(type, payload);
  }
}
