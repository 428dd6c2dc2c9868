/** The demo's arguments and its plant clock's start. */
import { parseArgs, shiftStart } from './run';

it('starts the shift at the latest 06:00, 14:00 or 22:00 (Europe/Berlin) that keeps plant time behind the wall clock', () => {
  // 2026-12-04 19:45 in Berlin (UTC+1); 8 plant hours at 240×: the shift must start by 11:47 local.
  const wall = Date.parse('2026-12-04T18:45:00Z');
  const start = shiftStart(wall, 8, 240);
  expect(new Date(start).toISOString()).toBe('2026-12-04T05:00:00.000Z'); // 06:00 in Berlin
  expect(start + 8 * 3_600_000).toBeLessThanOrEqual(wall + (8 * 3_600_000) / 240);
  // A 2-hour shift fits after 14:00 local (13:00 UTC).
  expect(new Date(shiftStart(wall, 2, 240)).toISOString()).toBe('2026-12-04T13:00:00.000Z');
  // In summer Berlin is UTC+2: 06:00 local is 04:00 UTC.
  expect(new Date(shiftStart(Date.parse('2026-07-01T15:00:00Z'), 8, 240)).toISOString()).toBe(
    '2026-07-01T04:00:00.000Z',
  );
});

it('takes --port, --hours, --speed and --once, and refuses what it does not know', () => {
  expect(parseArgs(['--once', '--hours', '2', '--speed', '480', '--port', '8090'])).toMatchObject({
    once: true,
    hours: 2,
    speed: 480,
    port: 8090,
  });
  expect(() => parseArgs(['--hours', 'many'])).toThrow('--hours must be a number');
  expect(() => parseArgs(['--fast'])).toThrow('unknown option --fast');
});
