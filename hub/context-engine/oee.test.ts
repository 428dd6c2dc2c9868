import { computeOee, type OeeInput } from './oee';

const MIN = 60_000;
const base: OeeInput = {
  from: Date.parse('2026-12-02T05:00:00Z'),
  to: Date.parse('2026-12-02T13:00:00Z'),
  now: Date.parse('2026-12-02T13:00:00Z'),
  timeZone: 'Europe/Berlin',
  shifts: [],
  stops: [],
  good: 0,
  scrap: 0,
  pruSeconds: 60,
  microStopSeconds: 120,
  isoStrict: false,
};

describe('OEE by ISO 22400-2', () => {
  it('gives the golden figures: PBT 480 min, APT 400, PRU 1 min, PQ 380, GQ 361', () => {
    const figures = computeOee({
      ...base,
      stops: [
        {
          start: base.from + 60 * MIN,
          end: base.from + 140 * MIN,
          stopKind: 'stop',
          lossCategory: 'availability',
          reasonCode: '17',
          reason: 'Cap feed jam',
        },
      ],
      good: 361,
      scrap: 19,
    });
    expect(figures.timeElements).toEqual({ POT: 28800, PDOT: 0, PBT: 28800, APT: 24000, ADET: 0, ADOT: 4800 });
    expect(figures.quantities).toEqual({ PQ: 380, GQ: 361, SQ: 19 });
    expect(figures.kpis.availability).toBeCloseTo(0.8333, 4);
    expect(figures.kpis.effectiveness).toBeCloseTo(0.95, 4);
    expect(figures.kpis.quality).toBeCloseTo(0.95, 4);
    expect(figures.kpis.oee).toBeCloseTo(0.7521, 4);
    expect(figures.losses).toEqual([
      { kind: 'downtime', reasonCode: '17', reason: 'Cap feed jam', count: 1, seconds: 4800 },
      { kind: 'scrap', count: 1, seconds: 0, quantity: 19 },
    ]);
  });

  it('takes planned breaks and excluded time out of planned busy time, and keeps micro-stops in APT unless isoStrict', () => {
    const shifts = [{ id: 'early', start: '06:00', hours: 8, breaks: [{ start: '10:00', minutes: 30 }] }];
    const stops = [
      // Overlaps the break (09:00–09:30 UTC): only its time outside the break counts.
      {
        start: Date.parse('2026-12-02T08:50:00Z'),
        end: Date.parse('2026-12-02T09:10:00Z'),
        stopKind: 'stop',
        lossCategory: 'availability',
        reasonCode: '17',
      },
      {
        start: Date.parse('2026-12-02T11:00:00Z'),
        end: Date.parse('2026-12-02T11:01:00Z'),
        stopKind: 'microStop',
        lossCategory: 'performance',
        reasonCode: 'Unknown',
      },
      {
        start: Date.parse('2026-12-02T12:00:00Z'),
        end: Date.parse('2026-12-02T12:20:00Z'),
        stopKind: 'noOrder',
        lossCategory: 'excluded',
        reasonCode: 'Unknown',
      },
    ];
    const figures = computeOee({ ...base, shifts, stops });
    expect(figures.timeElements).toEqual({ POT: 28800, PDOT: 1800 + 1200, PBT: 25800, APT: 25200, ADET: 0, ADOT: 600 });
    expect(computeOee({ ...base, shifts, stops, isoStrict: true }).timeElements).toMatchObject({
      ADET: 60,
      APT: 25140,
    });
  });

  it('reports an open unclassified stop still below the micro-stop threshold as indeterminate, never guessed', () => {
    const now = Date.parse('2026-12-02T12:59:00Z');
    const figures = computeOee({
      ...base,
      now,
      stops: [
        { start: now - 30_000, end: null, stopKind: 'stop', lossCategory: 'availability', reasonCode: 'Unknown' },
      ],
    });
    expect(figures.losses).toEqual([{ kind: 'indeterminate', count: 1, seconds: 30 }]);
    expect(figures.timeElements.ADOT).toBe(0);
  });

  it('takes planned downtime out of planned busy time like a break, counting time that is both (or excluded too) once', () => {
    const shifts = [{ id: 'early', start: '06:00', hours: 8, breaks: [{ start: '10:00', minutes: 30 }] }];
    const span = (from: string, to: string) => ({
      start: Date.parse(`2026-12-02T${from}:00Z`),
      end: Date.parse(`2026-12-02T${to}:00Z`),
    });
    const stop = (from: string, to: string, stopKind: string, lossCategory: string) => ({
      ...span(from, to),
      stopKind,
      lossCategory,
      reasonCode: stopKind === 'stop' ? '17' : 'Unknown',
    });
    const figures = computeOee({
      ...base,
      shifts,
      // 08:45–09:15 overlaps the break (09:00–09:30 UTC) by 15 minutes; 12:00–12:30 lies in the shift.
      plannedDowntime: [span('08:45', '09:15'), span('12:00', '12:30')],
      stops: [
        // Inside planned downtime from 12:00: only its 10 minutes before count.
        stop('11:50', '12:10', 'stop', 'availability'),
        // Excluded (a maintenance mode), half inside planned downtime: PDOT for the other 10 minutes only.
        stop('12:20', '12:40', 'excluded', 'excluded'),
      ],
    });
    expect(figures.timeElements).toEqual({
      POT: 28800,
      PDOT: 2700 + 1800 + 600,
      PBT: 23700,
      APT: 23100,
      ADET: 0,
      ADOT: 600,
    });
    expect(figures.losses).toEqual([{ kind: 'downtime', reasonCode: '17', count: 1, seconds: 600 }]);
    // Planned downtime outside every shift is not planned operation time to begin with.
    expect(computeOee({ ...base, shifts, plannedDowntime: [span('14:00', '15:00')] }).timeElements).toMatchObject({
      POT: 28800,
      PDOT: 1800,
    });
    // Without shifts all time is planned, less the planned downtime.
    expect(computeOee({ ...base, plannedDowntime: [span('12:00', '14:00')] }).timeElements).toMatchObject({
      POT: 28800,
      PDOT: 3600,
    });
  });

  it('counts only the time `within` (an order’s runs), with the stops and pauses inside it', () => {
    const shifts = [{ id: 'early', start: '06:00', hours: 8, breaks: [{ start: '10:00', minutes: 30 }] }];
    const at = (time: string) => Date.parse(`2026-12-02T${time}:00Z`);
    const figures = computeOee({
      ...base,
      shifts,
      within: [
        { start: at('08:00'), end: at('09:15') },
        { start: at('11:00'), end: at('11:30') },
      ],
      stops: [
        { start: at('07:50'), end: at('08:10'), stopKind: 'stop', lossCategory: 'availability', reasonCode: '17' },
        { start: at('11:20'), end: at('11:40'), stopKind: 'stop', lossCategory: 'availability', reasonCode: '17' },
      ],
      good: 100,
      scrap: 0,
    });
    expect(figures.timeElements).toEqual({ POT: 6300, PDOT: 900, PBT: 5400, APT: 4200, ADET: 0, ADOT: 1200 });
    expect(figures.losses).toEqual([{ kind: 'downtime', reasonCode: '17', count: 2, seconds: 1200 }]);
  });
});
