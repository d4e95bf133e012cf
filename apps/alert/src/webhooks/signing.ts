import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is `<id>.<timestamp>.<body>`,
 * the key is the secret without its `whsec_` prefix, base64-decoded, and the signature header is
 * `v1,<base64 HMAC-SHA256>` (several space-separated signatures are allowed when a secret rotates).
 */
export const SECRET_PREFIX = 'whsec_';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A fresh secret, `whsec_<base64 of 32 random bytes>`. */
export function newWebhookSecret(random: (n: number) => Buffer = randomBytes): string {
  return SECRET_PREFIX + random(32).toString('base64');
}

/** The HMAC key of a secret: its base64 part decoded. Throws on a secret that is not `whsec_<base64>`. */
export function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('webhook secret must be whsec_<base64>');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 16) throw new Error('webhook secret must decode to at least 16 bytes');
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. `timestampSeconds` is whole seconds since the epoch. */
export function webhookSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export function signedHeaders(secret: string, id: string, timestampSeconds: number, body: string): SignedHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': webhookSignature(secret, id, timestampSeconds, body),
  };
}

/**
 * What a receiver does (used by our tests and documented for users): true when one of the `v1,` signatures in the
 * header matches and the timestamp is within `toleranceSeconds` of `nowSeconds` (replay protection).
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, headers.id, ts, body).slice(3), 'base64');
  return headers.signature.split(' ').some((part) => {
    const [version, value] = part.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const got = Buffer.from(value, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
