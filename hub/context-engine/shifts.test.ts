import { localDateTime, overlappingShifts, plannedDowntimeOf, shiftAt, shiftsBetween } from './shifts';
import type { ShiftConfig } from './config';

const ZONE = 'Europe/Berlin';
const SHIFTS: ShiftConfig[] = [
  { id: 'early', start: '06:00', hours: 8, breaks: [{ start: '10:00', minutes: 30 }] },
  { id: 'late', start: '14:00', hours: 8, breaks: [{ start: '18:00', minutes: 30 }] },
  { id: 'night', start: '22:00', hours: 8, breaks: [{ start: '02:00', minutes: 30 }] },
];
const at = (text: string) => Date.parse(text);
const iso = (ms: number) => new Date(ms).toISOString();

describe('shift calendar in local time', () => {
  it('finds the shift of an instant, with its bounds and break in UTC', () => {
    const shift = shiftAt(ZONE, SHIFTS, at('2026-12-02T09:00:00Z'))!;
    expect(shift.key).toBe('2026-12-02-early');
    expect(iso(shift.start)).toBe('2026-12-02T05:00:00.000Z');
    expect(iso(shift.end)).toBe('2026-12-02T13:00:00.000Z');
    expect(shift.breaks.map((b) => [iso(b.start), iso(b.end)])).toEqual([
      ['2026-12-02T09:00:00.000Z', '2026-12-02T09:30:00.000Z'],
    ]);
  });

  it('gives the night shift to the day it started, and its break after midnight', () => {
    const shift = shiftAt(ZONE, SHIFTS, at('2026-12-03T01:15:00Z'))!;
    expect(shift.key).toBe('2026-12-02-night');
    expect(iso(shift.breaks[0]!.start)).toBe('2026-12-03T01:00:00.000Z');
  });

  it('follows local time across daylight saving: the spring night is 7 hours, the autumn night 9', () => {
    const spring = shiftAt(ZONE, SHIFTS, at('2026-03-29T02:00:00Z'))!;
    expect(spring.key).toBe('2026-03-28-night');
    expect((spring.end - spring.start) / 3_600_000).toBe(7);
    expect(iso(spring.end)).toBe('2026-03-29T04:00:00.000Z');
    const autumn = shiftAt(ZONE, SHIFTS, at('2026-10-25T02:00:00Z'))!;
    expect(autumn.key).toBe('2026-10-24-night');
    expect((autumn.end - autumn.start) / 3_600_000).toBe(9);
    expect(iso(autumn.start)).toBe('2026-10-24T20:00:00.000Z');
  });

  it('has no shift outside the calendar (NoShift)', () => {
    expect(shiftAt(ZONE, [SHIFTS[0]!], at('2026-12-02T20:00:00Z'))).toBeUndefined();
  });

  it('lists the shifts a window overlaps, in order', () => {
    const keys = shiftsBetween(ZONE, SHIFTS, at('2026-12-02T12:00:00Z'), at('2026-12-02T22:00:00Z')).map((s) => s.key);
    expect(keys).toEqual(['2026-12-02-early', '2026-12-02-late', '2026-12-02-night']);
  });

  it('finds overlapping shifts and breaks outside their shift as configuration problems', () => {
    expect(overlappingShifts(SHIFTS)).toEqual([]);
    expect(
      overlappingShifts([
        { id: 'a', start: '06:00', hours: 9, breaks: [] },
        { id: 'b', start: '14:00', hours: 8, breaks: [{ start: '23:00', minutes: 30 }] },
      ]),
    ).toEqual(['shifts "a" and "b" overlap', 'shift "b": the break at 23:00 is not inside the shift']);
  });

  it('reads planned downtime in local time: a date that does not exist or a skipped time is NaN', () => {
    expect(iso(localDateTime(ZONE, '2026-12-03T13:00'))).toBe('2026-12-03T12:00:00.000Z');
    expect(iso(localDateTime(ZONE, '2026-07-03T13:00'))).toBe('2026-07-03T11:00:00.000Z');
    expect(iso(localDateTime(ZONE, '2026-10-25T02:30'))).toBe('2026-10-25T00:30:00.000Z');
    expect(localDateTime(ZONE, '2026-03-29T02:30')).toBeNaN();
    expect(localDateTime(ZONE, '2026-02-30T06:00')).toBeNaN();
    expect(localDateTime(ZONE, '2026-12-03 13:00')).toBeNaN();
  });

  it('gives each work unit the planned downtime that names it, its line, or no equipment', () => {
    const entries = [
      { id: 'all', start: '2026-12-03T13:00', minutes: 30 },
      { id: 'line', start: '2026-12-03T14:00', minutes: 60, equipment: ['PACK-L1'] },
      { id: 'filler', start: '2026-12-03T15:00', minutes: 15, equipment: ['FILLER-01'] },
      // Elapsed minutes: 90 minutes from 02:00 on the autumn change end at 02:30 the second time.
      { id: 'autumn', start: '2026-10-25T02:00', minutes: 90, equipment: ['CAPPER-01'] },
    ];
    const windows = plannedDowntimeOf(ZONE, entries, 'CAPPER-01', 'PACK-L1').map((w) => [
      w.id,
      iso(w.start),
      iso(w.end),
    ]);
    expect(windows).toEqual([
      ['all', '2026-12-03T12:00:00.000Z', '2026-12-03T12:30:00.000Z'],
      ['line', '2026-12-03T13:00:00.000Z', '2026-12-03T14:00:00.000Z'],
      ['autumn', '2026-10-25T00:00:00.000Z', '2026-10-25T01:30:00.000Z'],
    ]);
  });
});
