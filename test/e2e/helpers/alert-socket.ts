import {
  SOCKET_NAMESPACE,
  type Anomaly,
  type ClientToServerEvents,
  type Incident,
  type ServerToClientEvents,
  type StreamEventType,
  type SubscribeRequest,
} from '@vigil/contracts';
import { waitFor } from '@vigil/testing';
import { io, type Socket } from 'socket.io-client';

export type AlertsClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** One live event as a client saw it. */
export interface StreamReceived {
  type: StreamEventType;
  eventId: string;
  incident?: Incident;
  anomaly?: Anomaly;
}

export interface AlertsConnection {
  socket: AlertsClient;
  received: StreamReceived[];
  /** Waits for the connection, then sends `subscribe` and returns the server's ack. */
  subscribe(req?: SubscribeRequest): ReturnType<AlertsClient['emitWithAck']>;
  close(): void;
}

/** A real socket.io client on `<baseUrl>/alerts` with an API key in the handshake, recording every event it gets. */
export function connectAlerts(baseUrl: string, token: string): AlertsConnection {
  const socket: AlertsClient = io(`${baseUrl}${SOCKET_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token } });
  const received: StreamReceived[] = [];
  socket.onAny((type: StreamEventType, e: { eventId: string; incident?: Incident; anomaly?: Anomaly }) => {
    received.push({ type, eventId: e.eventId, ...(e.incident ? { incident: e.incident } : {}), ...(e.anomaly ? { anomaly: e.anomaly } : {}) });
  });
  return {
    socket,
    received,
    subscribe: async (req: SubscribeRequest = {}) => {
      await waitFor(() => {
        if (socket.disconnected && !socket.active) throw new Error('the server refused the connection');
        return socket.connected;
      }, { what: 'the /alerts socket to connect' });
      return socket.emitWithAck('subscribe', req);
    },
    close: () => void socket.disconnect(),
  };
}
