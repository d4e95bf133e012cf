import type { Incident } from '@vigil/contracts';
import { ApiClient } from './api-client.js';
import { table } from './keys.js';

const time = (ms: number) => new Date(ms).toISOString().slice(5, 19).replace('T', ' ');

export function incidentRows(items: Incident[]): string {
  return table(
    ['LAST SEEN (UTC)', 'SEVERITY', 'STATUS', 'ANOMALIES', 'TITLE', 'ID'],
    items.map((i) => [time(i.lastSeen), i.severity, i.status, String(i.anomalyCount), i.title.length > 80 ? i.title.slice(0, 79) + '…' : i.title, i.id]),
  );
}

/** One line per live event, for `vigil incidents --follow`. */
export function incidentLine(type: string, i: Incident): string {
  const what = type === 'incident.opened' ? 'OPENED  ' : type === 'incident.resolved' ? 'RESOLVED' : 'UPDATED ';
  return `${time(i.lastSeen)}  ${what}  ${i.severity.padEnd(8)} ${i.status.padEnd(12)} ${i.title}  (${i.id})`;
}

export async function listIncidents(client: ApiClient, q: { limit: number; status?: string; severity?: string }): Promise<Incident[]> {
  const params = new URLSearchParams({ limit: String(q.limit), order: 'desc' });
  if (q.status) params.set('status', q.status);
  if (q.severity) params.set('severity', q.severity);
  return (await client.request<{ items: Incident[] }>('GET', `/v1/incidents?${params.toString()}`, undefined, 'listing incidents')).body.items;
}
