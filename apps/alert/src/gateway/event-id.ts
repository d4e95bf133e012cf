import { randomBytes } from 'node:crypto';
import type { Clock } from '@vigil/platform';

/**
 * Sortable live-event ids: `<13-digit epoch ms>-<6-digit sequence>-<instance>`. Strictly increasing within one
 * process (the sequence breaks ties within a millisecond and survives a clock step back); across instances they
 * order by wall-clock time.
 */
export class EventIdGenerator {
  private lastMs = 0;
  private seq = 0;
  constructor(
    private readonly clock: Clock,
    readonly instance: string = randomBytes(4).toString('hex'),
  ) {}

  next(): { eventId: string; at: number } {
    const now = this.clock.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return { eventId: `${String(this.lastMs).padStart(13, '0')}-${String(this.seq).padStart(6, '0')}-${this.instance}`, at: this.lastMs };
  }
}
