/** The MES's shift keys and bounds follow the seed's calendar in Berlin time, DST included. */
import { shiftAt, shiftKeyAt } from './mes-shifts';

const at = (iso: string) => Date.parse(iso);

it('names the shift an instant falls in by the local date it began on', () => {
  expect(shiftKeyAt(at('2026-12-01T05:00:00Z'))).toBe('2026-12-01-early'); // 06:00 CET
  expect(shiftKeyAt(at('2026-12-01T12:59:59Z'))).toBe('2026-12-01-early');
  expect(shiftKeyAt(at('2026-12-01T13:00:00Z'))).toBe('2026-12-01-late');
  expect(shiftKeyAt(at('2026-12-01T21:00:00Z'))).toBe('2026-12-01-night'); // 22:00
  expect(shiftKeyAt(at('2026-12-02T04:59:59Z'))).toBe('2026-12-01-night'); // 05:59 the next day
  expect(shiftKeyAt(at('2026-07-01T04:00:00Z'))).toBe('2026-07-01-early'); // 06:00 CEST
});

it('gives the bounds of a shift, an hour shorter across the spring change', () => {
  expect(shiftAt(at('2026-12-01T08:00:00Z'))).toEqual({
    key: '2026-12-01-early',
    start: at('2026-12-01T05:00:00Z'),
    end: at('2026-12-01T13:00:00Z'),
  });
  const spring = shiftAt(at('2026-03-29T00:30:00Z')); // 01:30 CET, the night the clocks go forward
  expect(spring).toEqual({
    key: '2026-03-28-night',
    start: at('2026-03-28T21:00:00Z'),
    end: at('2026-03-29T04:00:00Z'),
  });
});
