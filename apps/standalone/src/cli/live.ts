import { SOCKET_NAMESPACE, type ClientToServerEvents, type IncidentStreamEvent, type ServerToClientEvents, type SubscribeRequest } from '@vigil/contracts';
import { io, type Socket } from 'socket.io-client';
import type { ApiClient } from './api-client.js';
import { CliError } from './errors.js';

export type IncidentEventType = 'incident.opened' | 'incident.updated' | 'incident.resolved';
export interface LiveSubscription {
  close(): void;
}

/**
 * Subscribes to the `/alerts` namespace with the client's key and calls `onEvent` for every incident event. Resolves
 * once the server acknowledged the subscription; rejects with a clear error when the key is refused. On reconnect it
 * resumes after the last event id it saw, so nothing is missed.
 */
export function followIncidents(
  client: ApiClient,
  onEvent: (type: IncidentEventType, e: IncidentStreamEvent) => void,
  filter: Omit<SubscribeRequest, 'lastEventId'> = {},
): Promise<LiveSubscription> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${client.url}${SOCKET_NAMESPACE}`, {
    auth: { token: client.token },
    transports: ['websocket'],
    reconnectionDelayMax: 5000,
  });
  let lastEventId: string | undefined;
  let subscribed = false;
  for (const type of ['incident.opened', 'incident.updated', 'incident.resolved'] as const) {
    socket.on(type, (e) => {
      lastEventId = e.eventId;
      onEvent(type, e);
    });
  }
  return new Promise<LiveSubscription>((resolve, reject) => {
    const fail = (message: string) => {
      socket.close();
      reject(new CliError(message));
    };
    socket.on('connect_error', (err: Error & { data?: { status?: number } }) => {
      if (subscribed) return; // socket.io retries by itself
      const status = err.data?.status;
      if (status === 401 || status === 403) fail(`live stream: the API key was refused (${err.message}); it needs the alerts:read scope`);
      else fail(`live stream: cannot connect to ${client.url}${SOCKET_NAMESPACE} (${err.message})`);
    });
    socket.on('connect', () => {
      socket.emit('subscribe', { ...filter, ...(lastEventId ? { lastEventId } : {}) }, (ack) => {
        if (ack.ok) {
          if (!subscribed) {
            subscribed = true;
            resolve({ close: () => socket.close() });
          }
        } else if (!subscribed) {
          fail(`live stream: subscription refused (${ack.error})`);
        }
      });
    });
  });
}
