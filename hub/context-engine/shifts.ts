/**
 * The shift calendar in the plant's local time: which shift an instant falls in, its bounds, its
 * planned breaks, and the planned downtime on dates. Shifts start at the same local time every day, so
 * across a daylight-saving change a shift lasts an hour more or less of real time.
 */
import type { PlannedDowntimeConfig, ShiftConfig } from './config';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface ShiftWindow {
  /** `<local date>-<shift id>`, e.g. `2026-03-29-night`: unique per shift and day. */
  key: string;
  shift: string;
  start: number;
  end: number;
  breaks: Array<{ start: number; end: number }>;
}

/**
 * Offset of `zone` from UTC at instant `ms`, in milliseconds. Zones change offset on a whole minute,
 * so the answer is kept per zone and minute: the engine asks for the same few minutes with every
 * signal, and formatting a date in a zone is the dearest step of its work.
 */
function offsetAt(zone: string, ms: number): number {
  const key = `${zone}|${Math.floor(ms / MINUTE)}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    if (offsets.size >= OFFSETS_KEPT) offsets.clear();
    offset = computeOffset(zone, ms);
    offsets.set(key, offset);
  }
  return offset;
}

const OFFSETS_KEPT = 4096;
const offsets = new Map<string, number>();

function computeOffset(zone: string, ms: number): number {
  const parts = formatter(zone).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return local - Math.floor(ms / 1000) * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** Whether `zone` is a time zone this Node.js knows. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The instant of a local wall-clock time (`localMs`: the wall clock read as if it were UTC). A time
 * the clocks skip in spring is taken an hour later; one they pass twice in autumn, the first time.
 */
export function instantOf(zone: string, localMs: number): number {
  const before = offsetAt(zone, localMs - DAY / 2);
  const after = offsetAt(zone, localMs + DAY / 2);
  const valid = [localMs - before, localMs - after].filter((ms) => localMs - ms === offsetAt(zone, ms));
  return valid.length > 0 ? Math.min(...valid) : localMs - before;
}

/**
 * The instant of a local date-time `YYYY-MM-DDTHH:MM` in `zone`; NaN for a date the calendar does not
 * have (2026-02-30) or a time the clocks skip in spring. A time they pass twice in autumn is the first.
 * @example localDateTime('Europe/Berlin', '2026-12-03T13:00') // Date.parse('2026-12-03T12:00:00Z')
 */
export function localDateTime(zone: string, text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text);
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const local = Date.UTC(year, month - 1, day, hour, minute);
  const date = new Date(local);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return Number.NaN;
  const instant = instantOf(zone, local);
  return instant + offsetAt(zone, instant) === local ? instant : Number.NaN;
}

/**
 * The planned downtime that applies to work unit `unitId` of line `lineId`, as instants: entries that
 * name no equipment apply everywhere, a line stands for its work units. `minutes` are elapsed minutes.
 */
export function plannedDowntimeOf(
  zone: string,
  entries: PlannedDowntimeConfig[],
  unitId: string,
  lineId: string,
): Array<{ id: string; start: number; end: number }> {
  return entries
    .filter((entry) => entry.equipment === undefined || entry.equipment.some((id) => id === unitId || id === lineId))
    .map((entry) => {
      const start = localDateTime(zone, entry.start);
      return { id: entry.id, start, end: start + entry.minutes * MINUTE };
    })
    .filter((window) => !Number.isNaN(window.start));
}

/** The local calendar day (as UTC midnight of that date) an instant falls on. */
export function localDay(zone: string, ms: number): number {
  const local = ms + offsetAt(zone, ms);
  return Math.floor(local / DAY) * DAY;
}

function minutesOf(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return hours! * 60 + minutes!;
}

/** The shift `shift` that starts on local day `day`. */
export function windowOf(zone: string, shift: ShiftConfig, day: number): ShiftWindow {
  const startLocal = day + minutesOf(shift.start) * MINUTE;
  const endLocal = startLocal + shift.hours * 60 * MINUTE;
  const breaks = shift.breaks.map((pause) => {
    let breakLocal = day + minutesOf(pause.start) * MINUTE;
    if (breakLocal < startLocal) breakLocal += DAY;
    return {
      start: instantOf(zone, breakLocal),
      end: instantOf(zone, breakLocal + pause.minutes * MINUTE),
    };
  });
  return {
    key: `${new Date(day).toISOString().slice(0, 10)}-${shift.id}`,
    shift: shift.id,
    start: instantOf(zone, startLocal),
    end: instantOf(zone, endLocal),
    breaks,
  };
}

/** The shift an instant falls in, or undefined outside every shift (NoShift). */
export function shiftAt(zone: string, shifts: ShiftConfig[], ms: number): ShiftWindow | undefined {
  const today = localDay(zone, ms);
  for (const day of [today, today - DAY])
    for (const shift of shifts) {
      const window = windowOf(zone, shift, day);
      if (window.start <= ms && ms < window.end) return window;
    }
  return undefined;
}

/** Every shift that overlaps [from, to), in order. */
export function shiftsBetween(zone: string, shifts: ShiftConfig[], from: number, to: number): ShiftWindow[] {
  const windows: ShiftWindow[] = [];
  for (let day = localDay(zone, from) - DAY; day <= localDay(zone, to); day += DAY)
    for (const shift of shifts) {
      const window = windowOf(zone, shift, day);
      if (window.start < to && window.end > from) windows.push(window);
    }
  return windows.sort((a, b) => a.start - b.start);
}

/** Pairs of shifts that overlap, as configuration problems (checked over one week of each shift). */
export function overlappingShifts(shifts: ShiftConfig[]): string[] {
  const problems: string[] = [];
  const spans = (shift: ShiftConfig) =>
    [0, 1].map((day) => {
      const start = day * 1440 + minutesOf(shift.start);
      return [start, start + shift.hours * 60] as const;
    });
  shifts.forEach((a, i) =>
    shifts.slice(i + 1).forEach((b) => {
      const overlap = spans(a).some(([aStart, aEnd]) =>
        spans(b).some(([bStart, bEnd]) => aStart < bEnd && bStart < aEnd),
      );
      if (overlap) problems.push(`shifts "${a.id}" and "${b.id}" overlap`);
    }),
  );
  for (const shift of shifts)
    for (const pause of shift.breaks) {
      let at = minutesOf(pause.start);
      if (at < minutesOf(shift.start)) at += 1440;
      if (at + pause.minutes > minutesOf(shift.start) + shift.hours * 60)
        problems.push(`shift "${shift.id}": the break at ${pause.start} is not inside the shift`);
    }
  return problems;
}
