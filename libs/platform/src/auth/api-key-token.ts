import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API key tokens look like `vgl_<id>_<secret>`: the id finds the record, the secret is checked against its
 * SHA-256 hash. Only the hash is stored; the token is shown once, at creation.
 */
export const TOKEN_PREFIX = 'vgl_';
const TOKEN_RE = /^vgl_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$/;

export interface NewApiKeyToken {
  id: string;
  token: string;
  hash: string;
  /** Shown in listings so people can tell keys apart: `vgl_<id>_abcd…`. */
  prefix: string;
}

export function newApiKeyToken(random: (n: number) => Buffer = randomBytes): NewApiKeyToken {
  const id = random(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12).padEnd(12, '0');
  const secret = random(32).toString('base64url');
  const token = `${TOKEN_PREFIX}${id}_${secret}`;
  return { id, token, hash: hashApiKeyToken(token), prefix: `${TOKEN_PREFIX}${id}_${secret.slice(0, 4)}` };
}

export function hashApiKeyToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The id part of a well-formed token, or null. */
export function parseApiKeyToken(token: string): { id: string } | null {
  const m = TOKEN_RE.exec(token);
  return m && m[1] ? { id: m[1] } : null;
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
