/** Shared by both adapters: redelivery delay and an abortable wait. */

export const DEFAULT_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 30_000;

/** Delay before redelivery number `failures` (1 for the first failure): base, doubling, capped at 30 s. */
export function redeliveryDelay(baseMs: number | undefined, failures: number): number {
  const base = Math.max(0, baseMs ?? DEFAULT_RETRY_DELAY_MS);
  return Math.min(MAX_RETRY_DELAY_MS, base * 2 ** Math.max(0, failures - 1));
}

/**
 * Resolves after `ms`, or at once when `signal` aborts. Resolves `true` if the full delay elapsed.
 * The timer is always cleared, so nothing keeps the process alive after an abort.
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
