/**
 * The plant's shift calendar as the MES keeps it: early 06:00, late 14:00, night 22:00, Europe/Berlin
 * local time (the same calendar as the hub's `context.shifts`), and the shift key
 * `<local date>-<shift id>` a night shift takes from the date it began on.
 */
import { SHIFT_STARTS } from './scenario';

export const TIME_ZONE = 'Europe/Berlin';
const SHIFT_IDS = ['early', 'late', 'night'] as const;
const HOUR = 3_600_000;

const localParts = new Intl.DateTimeFormat('en-CA', {
  timeZone: TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
});

function local(ms: number): { date: string; hour: number } {
  const parts = Object.fromEntries(localParts.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return { date: `${parts['year']}-${parts['month']}-${parts['day']}`, hour: Number(parts['hour']) };
}

const startHours = SHIFT_STARTS.map((start) => Number(start.slice(0, 2)));

/**
 * The key of the shift an instant falls in.
 * @example shiftKeyAt(Date.parse('2026-12-01T21:30:00Z')) // '2026-12-01-night' (22:30 in Berlin)
 */
export function shiftKeyAt(ms: number): string {
  const { date, hour } = local(ms);
  // The last shift that began at or before this local hour; before the first start, the previous day's last.
  let index = startHours.length - 1;
  for (let i = 0; i < startHours.length; i += 1) if (hour >= startHours[i]!) index = i;
  if (hour < startHours[0]!) return `${local(ms - (hour + 1) * HOUR).date}-${SHIFT_IDS[index]}`;
  return `${date}-${SHIFT_IDS[index]}`;
}

/**
 * The bounds of the shift an instant falls in (plant epoch ms). Shifts change on whole local hours,
 * which in Europe/Berlin are whole UTC hours.
 */
export function shiftAt(ms: number): { key: string; start: number; end: number } {
  const key = shiftKeyAt(ms);
  let start = Math.floor(ms / HOUR) * HOUR;
  while (shiftKeyAt(start - HOUR) === key) start -= HOUR;
  let end = Math.floor(ms / HOUR) * HOUR + HOUR;
  while (shiftKeyAt(end) === key) end += HOUR;
  return { key, start, end };
}
