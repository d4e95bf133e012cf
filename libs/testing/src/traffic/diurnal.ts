/**
 * The diurnal rate curve: how busy the API is at a given moment relative to its weekly average.
 *
 * Shape (local time of the API's users, `utcOffsetHours` from UTC): quiet at night (minimum around 04:00,
 * about a fifth of the average), a morning ramp, a broad afternoon peak around 14:00–15:00 (about 1.6× the
 * average) and an evening shoulder; Saturdays and Sundays run at about 55% of a weekday. The curve is
 * normalised so that its mean over a whole week is exactly 1, so `rps × rateFactor(t)` averages to `rps`
 * over any full week.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEKEND_FACTOR = 0.55;

/** Unnormalised shape of a weekday by local hour (fractional). */
function dayShape(h: number): number {
  const a = (2 * Math.PI * (h - 14.5)) / 24;
  // A main daily wave plus a second harmonic that flattens the night and sharpens the working day.
  const v = 1 + 0.72 * Math.cos(a) + 0.2 * Math.cos(2 * a + 0.6);
  return Math.max(0.12, v);
}

function rawFactor(localMs: number): number {
  const day = Math.floor(localMs / DAY_MS);
  // 1970-01-01 was a Thursday: (day + 4) % 7 gives 0 = Sunday … 6 = Saturday.
  const dow = (((day + 4) % 7) + 7) % 7;
  const h = (localMs - day * DAY_MS) / HOUR_MS;
  return dayShape(h) * (dow === 0 || dow === 6 ? WEEKEND_FACTOR : 1);
}

/** Mean of the raw curve over one week, by the minute. */
const WEEK_MEAN = (() => {
  let sum = 0;
  const steps = 7 * 24 * 60;
  const monday = 4 * DAY_MS; // 1970-01-05 was a Monday
  for (let i = 0; i < steps; i++) sum += rawFactor(monday + i * 60_000 + 30_000);
  return sum / steps;
})();

/** Rate multiplier at event time `ts` (epoch ms, UTC); mean 1 over a week. */
export function rateFactor(ts: number, utcOffsetHours = 0): number {
  return rawFactor(ts + utcOffsetHours * HOUR_MS) / WEEK_MEAN;
}

/** Expected number of normal requests between `from` and `to` at `rps` (numerical integral, 1 s steps). */
export function expectedRequests(from: number, to: number, rps: number, opts: { diurnal?: boolean; utcOffsetHours?: number } = {}): number {
  if (opts.diurnal === false) return ((to - from) / 1000) * rps;
  let sum = 0;
  for (let t = from; t < to; t += 1000) sum += rateFactor(t + Math.min(500, (to - t) / 2), opts.utcOffsetHours) * Math.min(1, (to - t) / 1000);
  return sum * rps;
}
