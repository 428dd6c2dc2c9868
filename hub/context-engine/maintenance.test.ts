/** Maintenance requests from recurring faults. */
import { type Derived, type EngineSettings } from './engine';
import { SETTINGS, feed, running } from './test-fixtures';
import { onWorkOrder } from './maintenance';

describe('maintenance from recurring faults', () => {
  const rules: EngineSettings = {
    ...SETTINGS,
    maintenanceRules: [
      { id: 'recurring-fault', repeated: { stops: 3, withinMinutes: 30 }, priority: 2 },
      { id: 'long-fault', persists: { minutes: 10 } },
    ],
  };
  const jam = (start: string, end: string): Array<[string, string, unknown]> => [
    [start, 'stopReason', 17],
    [start, 'state', 11],
    [end, 'state', 6],
    [end, 'stopReason', 0],
  ];
  const requests = (documents: Derived[]) => documents.filter((d) => d.type === 'MaintenanceRequest');

  it('raises one request for 3 stops with the same reason within 30 minutes, and attaches the next while it is open', () => {
    const state = running();
    const first = feed(
      state,
      [...jam('2026-12-02T08:00:00Z', '2026-12-02T08:01:00Z'), ...jam('2026-12-02T08:10:00Z', '2026-12-02T08:11:00Z')],
      rules,
    );
    expect(requests(first.documents)).toEqual([]);
    const third = requests(feed(state, jam('2026-12-02T08:20:00Z', '2026-12-02T08:21:00Z'), rules).documents);
    expect(third).toHaveLength(1);
    expect(third[0]!.document).toMatchObject({
      id: 'MR-CAPPER-01-20261202T082000Z-recurring-fault',
      equipmentId: 'CAPPER-01',
      reasonCode: '17',
      priority: 2,
      downtimeEventIds: [
        'DT-CAPPER-01-20261202T080000Z',
        'DT-CAPPER-01-20261202T081000Z',
        'DT-CAPPER-01-20261202T082000Z',
      ],
    });
    const fourth = requests(feed(state, jam('2026-12-02T08:25:00Z', '2026-12-02T08:26:00Z'), rules).documents);
    expect(fourth.map((d) => [d.objectKey, d.version, (d.document['downtimeEventIds'] as string[]).length])).toEqual([
      ['MR-CAPPER-01-20261202T082000Z-recurring-fault', 2, 4],
    ]);
  });

  it('counts stops that begin with their reason towards a repeated-stop rule behind a noise filter too', () => {
    const state = running();
    const { documents } = feed(
      state,
      [
        ...jam('2026-12-02T08:00:00Z', '2026-12-02T08:01:00Z'),
        ...jam('2026-12-02T08:10:00Z', '2026-12-02T08:11:00Z'),
        ...jam('2026-12-02T08:20:00Z', '2026-12-02T08:21:00Z'),
      ],
      { ...rules, ignoreBelowSeconds: 5 },
    );
    expect(requests(documents).map((d) => d.document['downtimeEventIds'])).toEqual([
      ['DT-CAPPER-01-20261202T080000Z', 'DT-CAPPER-01-20261202T081000Z', 'DT-CAPPER-01-20261202T082000Z'],
    ]);
  });

  it('counts again once the CMMS completed the work order for the request', () => {
    const state = running();
    for (const minute of ['00', '10', '20'])
      feed(state, jam(`2026-12-02T08:${minute}:00Z`, `2026-12-02T08:${minute}:30Z`), rules);
    const id = Object.values(state.requests!)[0]!.id;
    expect(onWorkOrder(state, id, 'Running')).toBe(false);
    expect(onWorkOrder(state, id, 'Completed')).toBe(true);
    expect(requests(feed(state, jam('2026-12-02T08:40:00Z', '2026-12-02T08:41:00Z'), rules).documents)).toEqual([]);
  });

  it('raises a request once for a stop that lasts 10 minutes, whatever its reason', () => {
    const state = running();
    const { documents } = feed(
      state,
      [
        ['2026-12-02T08:00:00Z', 'state', 2],
        ['2026-12-02T08:10:30Z', 'goodCount', 5],
        ['2026-12-02T08:12:00Z', 'state', 6],
      ],
      rules,
    );
    expect(requests(documents).map((d) => [d.objectKey, d.document['requestedAt'], d.document['reasonCode']])).toEqual([
      ['MR-CAPPER-01-20261202T081000Z-long-fault', '2026-12-02T08:10:00.000Z', 'Unknown'],
    ]);
  });
});
