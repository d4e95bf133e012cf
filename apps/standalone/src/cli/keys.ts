import type { ApiKeyView, CreatedApiKey } from '@vigil/alert/api-keys/api-keys.dto';
import type { ApiClient } from './api-client.js';

const day = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

export function keyTable(keys: ApiKeyView[]): string {
  const rows = keys.map((k) => [k.id, k.name, k.role, k.prefix + '…', day(k.createdAt), k.revokedAt !== null ? `revoked ${day(k.revokedAt)}` : k.expiresAt !== null ? `expires ${day(k.expiresAt)}` : 'active', day(k.lastUsedAt)]);
  return table(['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED (UTC)', 'STATE', 'LAST USED'], rows);
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function keysApi(client: ApiClient) {
  return {
    create: async (body: { name: string; role: string; allowedIps?: string[]; expiresInSeconds?: number }) =>
      (await client.request<CreatedApiKey>('POST', '/v1/api-keys', body, 'creating the key')).body,
    list: async () => (await client.request<ApiKeyView[]>('GET', '/v1/api-keys', undefined, 'listing keys')).body,
    revoke: async (id: string) => (await client.request<ApiKeyView>('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`, undefined, `revoking key ${id}`)).body,
    rotate: async (id: string, overlapSeconds: number) =>
      (await client.request<{ key: CreatedApiKey; previous: ApiKeyView }>('POST', `/v1/api-keys/${encodeURIComponent(id)}/rotate`, { overlapSeconds }, `rotating key ${id}`)).body,
  };
}
