import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got, with the status it answered. */
export interface ReceivedWebhook {
  /** `webhook-id` header. */
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** 1 for the first request carrying this webhook-id, 2 for the second, … */
  attemptOfId: number;
  answered: number;
  receivedAt: number;
}

export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:41234/hook */
  url: string;
  readonly received: ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A local HTTP endpoint standing in for a customer's webhook receiver. `answer` picks the status of each request
 * (default 204); the receiver records everything and leaves signature checks to `verifyStandardWebhook`, so a test
 * can verify with the secret it only learns after subscribing.
 */
export async function startWebhookReceiver(answer: (attemptOfId: number) => number = () => 204): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : '');
      const id = header('webhook-id');
      const attemptOfId = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attemptOfId);
      const status = answer(attemptOfId);
      received.push({ id, timestamp: header('webhook-timestamp'), signature: header('webhook-signature'), body, attemptOfId, answered: status, receivedAt: Date.now() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * What a customer's receiver does, written from the Standard Webhooks spec rather than with Vigil's signing code (so
 * a mistake there cannot verify itself): HMAC-SHA256 keyed with the base64-decoded secret (after `whsec_`) over
 * `<id>.<timestamp>.<body>`, compared with each `v1,<base64>` in the header; the timestamp within 5 minutes of now.
 */
export function verifyStandardWebhook(secret: string, w: Pick<ReceivedWebhook, 'id' | 'timestamp' | 'signature' | 'body'>, nowMs = Date.now()): boolean {
  const ts = Number(w.timestamp);
  if (!w.id || !Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${w.id}.${w.timestamp}.${w.body}`).digest();
  return w.signature.split(' ').some((s) => {
    const [version, value] = s.split(',');
    const got = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}
