import { createHmac } from 'node:crypto';
import { newWebhookSecret, secretKey, signedHeaders, verifyWebhook, webhookSignature } from './signing.js';

describe('webhook signing (Standard Webhooks)', () => {
  it('matches the Standard Webhooks reference test vector', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(webhookSignature(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it.each([
    ['ascii body', 'msg_1', 1_700_000_000, '{"a":1}'],
    ['unicode body', 'msg_ü', 1_700_000_001, '{"title":"Credential stuffing from 203.0.113.7 — 447×401"}'],
    ['empty body', 'msg_2', 0, ''],
  ])('signs %s as base64 HMAC-SHA256 of "id.timestamp.body" with the decoded secret', (_l, id, ts, body) => {
    const secret = newWebhookSecret();
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const reference = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    expect(webhookSignature(secret, id, ts, body)).toBe(`v1,${reference}`);
  });

  it('produces headers a receiver verifies, and rejects a tampered body, another secret or a stale timestamp', () => {
    const secret = newWebhookSecret();
    const h = signedHeaders(secret, 'msg_x', 1_700_000_000, '{"ok":true}');
    const headers = { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
    expect(verifyWebhook(secret, headers, '{"ok":true}', 1_700_000_010)).toBe(true);
    expect(verifyWebhook(secret, headers, '{"ok":false}', 1_700_000_010)).toBe(false);
    expect(verifyWebhook(newWebhookSecret(), headers, '{"ok":true}', 1_700_000_010)).toBe(false);
    expect(verifyWebhook(secret, headers, '{"ok":true}', 1_700_000_000 + 301)).toBe(false);
    expect(verifyWebhook(secret, { ...headers, signature: `v1,bogus ${headers.signature}` }, '{"ok":true}', 1_700_000_000)).toBe(true);
  });

  it('generates whsec_ secrets of 32 random bytes, different each time', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKey(a)).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
  });

  it.each(['whsec_not base64!', 'whsec_c2hvcnQ=', 'whsec_'])('refuses the malformed or short secret %p', (s) => {
    expect(() => secretKey(s)).toThrow(/whsec_|16 bytes/);
  });
});
