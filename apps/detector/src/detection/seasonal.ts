/** Seasonal slots in UTC: hour of day (0–23) and day of week (0 = Sunday). */
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export interface SeasonalSlot {
  hourOfDay: number;
  dayOfWeek: number;
}

export function seasonalSlot(epochMs: number): SeasonalSlot {
  const days = Math.floor(epochMs / DAY_MS);
  const hourOfDay = Math.floor((epochMs - days * DAY_MS) / HOUR_MS);
  // 1970-01-01 was a Thursday (4)
  const dayOfWeek = (((days + 4) % 7) + 7) % 7;
  return { hourOfDay, dayOfWeek };
}

/** Which seasonal components a baseline applies, from how much history it has seen. */
export type SeasonalLevel = 'none' | 'hour-of-day' | 'hour-of-week';

/** History needed before each component is trusted: two full cycles. */
export const HOUR_OF_DAY_AFTER_MS = 2 * DAY_MS;
export const HOUR_OF_WEEK_AFTER_MS = 14 * DAY_MS;

export function seasonalLevel(historyMs: number): SeasonalLevel {
  if (historyMs >= HOUR_OF_WEEK_AFTER_MS) return 'hour-of-week';
  if (historyMs >= HOUR_OF_DAY_AFTER_MS) return 'hour-of-day';
  return 'none';
}

/** "Tuesday 14:00", "14:00" or "any time": the slot label an explanation quotes. */
export function slotLabel(slot: SeasonalSlot, level: SeasonalLevel): string {
  const hh = `${String(slot.hourOfDay).padStart(2, '0')}:00`;
  if (level === 'hour-of-week') return `${DAY_NAMES[slot.dayOfWeek] ?? ''} ${hh}`;
  if (level === 'hour-of-day') return hh;
  return 'any time';
}
