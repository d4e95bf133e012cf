/** Seasonal slots in UTC: hour of day (0–23) and day of week (0 = Sunday). */
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export interface SeasonalSlot {
  hourOfDay: number;
  dayOfWeek: number;
}

/** Hour of day (0–23, UTC) of an instant: seasonalSlot(ms).hourOfDay without the object. */
export function hourOfDay(epochMs: number): number {
  const days = Math.floor(epochMs / DAY_MS);
  return Math.floor((epochMs - days * DAY_MS) / HOUR_MS);
}

/** Day of week (0 = Sunday, UTC) of an instant: seasonalSlot(ms).dayOfWeek without the object. */
export function dayOfWeek(epochMs: number): number {
  const days = Math.floor(epochMs / DAY_MS);
  return (((days + 4) % 7) + 7) % 7;
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

/** Labels of every slot, built once: index dayOfWeek * 24 + hourOfDay (hour of week) or hourOfDay (hour of day). */
const WEEK_LABELS = Array.from({ length: 7 * 24 }, (_, i) => slotLabel({ hourOfDay: i % 24, dayOfWeek: Math.floor(i / 24) }, 'hour-of-week'));
const DAY_LABELS = Array.from({ length: 24 }, (_, h) => slotLabel({ hourOfDay: h, dayOfWeek: 0 }, 'hour-of-day'));

/** slotLabel(seasonalSlot(epochMs), level) from the prebuilt labels (no string building per call). */
export function slotLabelAt(epochMs: number, level: SeasonalLevel): string {
  if (level === 'none') return 'any time';
  const h = hourOfDay(epochMs);
  const label = level === 'hour-of-week' ? WEEK_LABELS[dayOfWeek(epochMs) * 24 + h] : DAY_LABELS[h];
  return label ?? slotLabel(seasonalSlot(epochMs), level);
}
