/** Replay pace: as fast as possible, or event time scaled by a factor (`60x`: one hour of logs in a minute). */
export type ReplaySpeed = { kind: 'max' } | { kind: 'factor'; factor: number };

/** `max`, `60x`, `1x`, `0.5x`, or a bare number (`60`). Throws with a readable message otherwise. */
export function parseSpeed(text: string): ReplaySpeed {
  const s = text.trim().toLowerCase();
  if (s === 'max') return { kind: 'max' };
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(s);
  const factor = m ? Number(m[1]) : NaN;
  if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError(`speed must be "max" or an acceleration like 60x, got "${text}"`);
  return { kind: 'factor', factor };
}

/**
 * Maps event time to wall time: the first timed record goes out at once, a record `d` ms of event time later
 * goes out `d / factor` ms of wall time later. `delayFor` says how long to wait before sending a record.
 */
export class Pacer {
  private firstEventTs: number | null = null;
  private wallStart = 0;

  constructor(
    private readonly speed: ReplaySpeed,
    private readonly now: () => number,
  ) {}

  /** Milliseconds to wait before sending a record with event time `ts` (0 for max speed or untimed records). */
  delayFor(ts: number | undefined): number {
    if (this.speed.kind === 'max' || ts === undefined) return 0;
    if (this.firstEventTs === null) {
      this.firstEventTs = ts;
      this.wallStart = this.now();
      return 0;
    }
    const due = this.wallStart + (ts - this.firstEventTs) / this.speed.factor;
    return Math.max(0, due - this.now());
  }
}
