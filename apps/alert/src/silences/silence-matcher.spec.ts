import type { Silence } from '@vigil/contracts';
import { anAnomaly } from '@vigil/testing';
import { silencing } from './silence-matcher.js';

const T = Date.UTC(2024, 2, 10, 12, 0, 0);
function silence(overrides: Partial<Silence>): Silence {
  return { v: 1, id: 's1', tenant: 'acme', kind: 'silence', matchers: [], startsAt: T - 1000, endsAt: T + 1000, reason: 'r', createdBy: 'k', createdAt: T, updatedAt: T, deleted: false, ...overrides };
}

describe(silencing.name, () => {
  const a = anAnomaly({ detectedAt: T, entity: '203.0.113.7', detector: 'rate-zscore' });
  it.each<[string, Partial<Silence>, boolean]>([
    ['a maintenance window (no matchers) of the tenant', { kind: 'maintenance' }, true],
    ['matching detector and entity', { matchers: [{ field: 'detector', value: 'rate-zscore' }, { field: 'entity', value: '203.0.113.7' }] }, true],
    ['an entity prefix', { matchers: [{ field: 'entity', value: '203.0.113.*' }] }, true],
    ['one matcher that differs', { matchers: [{ field: 'detector', value: 'rate-zscore' }, { field: 'entity', value: '203.0.113.8' }] }, false],
    ['another tenant', { tenant: 'globex' }, false],
    ['a silence that ended at the anomaly time', { endsAt: T }, false],
    ['a silence that starts later', { startsAt: T + 1 }, false],
    ['a deleted silence', { deleted: true }, false],
  ])('%s mutes: %p', (_label, overrides, muted) => {
    expect(silencing([silence(overrides)], a) !== null).toBe(muted);
  });
});
