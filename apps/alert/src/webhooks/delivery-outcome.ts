import type { JobOutcome } from '@vigil/platform';
import { parseRetryAfter } from './retry-after.js';

/** Result of one HTTP attempt, before it becomes a queue outcome. */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter: string | null }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'network'; message: string };

/**
 * Alertmanager-style: a notifier says "retryable or not".
 * 2xx ok; 408, 429, 5xx, timeouts and network errors retryable (honouring Retry-After when sent);
 * every other status (3xx: redirects are not followed; 4xx) is not retryable and dead-letters the delivery.
 */
export function outcomeOf(result: AttemptResult, nowMs: number): JobOutcome {
  switch (result.kind) {
    case 'timeout':
      return { ok: false, retryable: true, error: `timed out after ${result.timeoutMs} ms` };
    case 'network':
      return { ok: false, retryable: true, error: `network error: ${result.message}` };
    case 'response': {
      const s = result.status;
      if (s >= 200 && s < 300) return { ok: true };
      const retryable = s === 408 || s === 429 || s >= 500;
      if (!retryable) {
        const why = s >= 300 && s < 400 ? ' (redirects are not followed)' : '';
        return { ok: false, retryable: false, error: `HTTP ${s}${why}` };
      }
      const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs);
      return retryAfterMs === undefined
        ? { ok: false, retryable: true, error: `HTTP ${s}` }
        : { ok: false, retryable: true, error: `HTTP ${s}, Retry-After ${result.retryAfter ?? ''}`, retryAfterMs };
    }
  }
}
