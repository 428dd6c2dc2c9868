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
});
