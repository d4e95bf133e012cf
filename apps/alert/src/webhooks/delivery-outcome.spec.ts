import { backoffDelay } from '@vigil/platform';
import { outcomeOf } from './delivery-outcome.js';

const NOW = Date.UTC(2024, 2, 10, 12, 0, 0);

describe(outcomeOf.name, () => {
  it.each([
    [200, null, { ok: true }],
    [204, null, { ok: true }],
    [408, null, { ok: false, retryable: true, error: 'HTTP 408' }],
    [429, '7', { ok: false, retryable: true, error: 'HTTP 429, Retry-After 7', retryAfterMs: 7_000 }],
    [503, 'Sun, 10 Mar 2024 12:01:00 GMT', { ok: false, retryable: true, error: 'HTTP 503, Retry-After Sun, 10 Mar 2024 12:01:00 GMT', retryAfterMs: 60_000 }],
    [500, null, { ok: false, retryable: true, error: 'HTTP 500' }],
    [400, null, { ok: false, retryable: false, error: 'HTTP 400' }],
    [404, '5', { ok: false, retryable: false, error: 'HTTP 404' }],
    [410, null, { ok: false, retryable: false, error: 'HTTP 410' }],
    [301, null, { ok: false, retryable: false, error: 'HTTP 301 (redirects are not followed)' }],
  ])('HTTP %d (Retry-After %p) → %j', (status, retryAfter, want) => {
    expect(outcomeOf({ kind: 'response', status, retryAfter }, NOW)).toEqual(want);
  });

  it('retries timeouts and network errors', () => {
    expect(outcomeOf({ kind: 'timeout', timeoutMs: 5000 }, NOW)).toEqual({ ok: false, retryable: true, error: 'timed out after 5000 ms' });
    expect(outcomeOf({ kind: 'network', message: 'ECONNREFUSED' }, NOW)).toMatchObject({ retryable: true, error: 'network error: ECONNREFUSED' });
  });
});

describe('webhook retry backoff (backoffDelay)', () => {
  const policy = { maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 60_000 };
  it.each([
    [1, 1, 999],
    [2, 1, 1_999],
    [3, 1, 3_999],
    [8, 1, 59_999],
    [20, 1, 59_999],
    [3, 0, 500],
  ])('attempt %d with random %p waits %d ms (exponential, capped, at least base/2)', (attempt, r, want) => {
    expect(backoffDelay(policy, attempt, () => (r === 1 ? 0.999_999_99 : r))).toBe(want);
  });
  it('spreads retries with jitter', () => {
    const values = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 6)));
    expect(values.size).toBeGreaterThan(10);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(500);
    for (const v of values) expect(v).toBeLessThan(32_000);
  });
});
