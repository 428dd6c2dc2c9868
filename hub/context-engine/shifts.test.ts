import { overlappingShifts, shiftAt, shiftsBetween } from './shifts';
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
});
