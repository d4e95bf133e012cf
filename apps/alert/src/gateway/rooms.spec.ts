import { Severity, type EntityType } from '@vigil/contracts';
import { passes, roomOf, roomsFor, type StreamFilter, type StreamTarget } from './rooms.js';

const target: StreamTarget = { tenant: 'acme', severity: 'high', entities: [{ type: 'token', value: 'tok-1' }, { type: 'ip', value: '192.0.2.1' }] };

describe('stream rooms', () => {
  const filters: StreamFilter[] = [];
  for (const tenant of ['acme', 'globex']) {
    for (const minSeverity of [undefined, ...Severity.options]) {
      for (const entityType of [undefined, 'token', 'ip', 'endpoint'] as (EntityType | undefined)[]) {
        for (const entity of [undefined, 'tok-1', '192.0.2.1', 'other']) {
          filters.push({ tenant, ...(minSeverity ? { minSeverity } : {}), ...(entityType ? { entityType } : {}), ...(entity ? { entity } : {}) });
        }
      }
    }
  }

  it('broadcasts to a subscription room exactly when the replay filter passes the event (live and resume agree)', () => {
    const rooms = new Set(roomsFor(target));
    const disagreements = filters.filter((f) => rooms.has(roomOf(f)) !== passes(f, target));
    expect(disagreements).toEqual([]);
  });

  it.each<[Partial<StreamFilter>, boolean]>([
    [{}, true],
    [{ minSeverity: 'high' }, true],
    [{ minSeverity: 'critical' }, false],
    [{ entity: '192.0.2.1' }, true],
    [{ entityType: 'ip', entity: 'tok-1' }, false],
    [{ tenant: 'globex' }, false],
  ])('filter %j receives a high token incident with a related IP: %p', (f, expected) => {
    expect(passes({ tenant: 'acme', ...f }, target)).toBe(expected);
  });
});
