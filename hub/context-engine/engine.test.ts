import { validateDocument } from '../../schemas/validate';
import type { WorkUnitConfig } from './config';
import {
  advanceClock,
  applyOrder,
  applySignal,
  initialState,
  type Derived,
  type EngineSettings,
  type UnitState,
} from './engine';
import { onWorkOrder } from './maintenance';

const SETTINGS: EngineSettings = {
  timeZone: 'Europe/Berlin',
  shifts: [
    { id: 'early', start: '06:00', hours: 8, breaks: [{ start: '10:00', minutes: 30 }] },
    { id: 'late', start: '14:00', hours: 8, breaks: [{ start: '18:00', minutes: 30 }] },
    { id: 'night', start: '22:00', hours: 8, breaks: [{ start: '02:00', minutes: 30 }] },
  ],
  microStopSeconds: 120,
  ignoreBelowSeconds: 0,
  isoStrict: false,
  countEverySeconds: 60,
  reasons: [{ code: '17', name: 'Cap feed jam', category: 'availability', equipmentClass: 'capper' }],
  maintenanceRules: [],
};
const CAPPER: WorkUnitConfig = {
  id: 'CAPPER-01',
  equipmentClass: 'capper',
  idealCycleSeconds: 0.5,
  stateMap: 'packml',
  signals: {
    state: 'state',
    mode: 'mode',
    stopReason: 'stopReason',
    counters: [
      { signal: 'goodCount', kind: 'good', rollover: 65536, maxPerSecond: 50 },
      { signal: 'rejectCount', kind: 'reject' },
    ],
  },
};
const ORDER = { orderId: '1000123', operationId: '0010', materialDefinitionId: 'FG-500', since: 0 };

/** Feeds signals `[time, signal, value]` to a unit; returns every document and outcome. */
function feed(state: UnitState, signals: Array<[string, string, unknown]>, settings = SETTINGS) {
  const documents: Derived[] = [];
  const outcomes: Array<string | undefined> = [];
  signals.forEach(([time, signal, value], index) => {
    const result = applySignal(settings, CAPPER, state, {
      messageId: `m${index + 1}`,
      equipmentId: CAPPER.id,
      signal,
      value,
      quality: 'good',
      sourceTimestamp: time,
      receivedAt: time,
    });
    // Every document the engine publishes is a valid canonical document.
    for (const document of result.documents) expect(validateDocument(document.type, document.document)).toEqual([]);
    documents.push(...result.documents);
    outcomes.push(result.outcome.code);
  });
  return { documents, outcomes };
}

function running(at = '2026-12-02T07:00:00Z'): UnitState {
  const state = initialState(CAPPER.id);
  applyOrder(SETTINGS, CAPPER, state, { ...ORDER, since: Date.parse(at) }, Date.parse(at), {
    messageId: 'order',
    signal: 'ProductionOrder',
    sourceTimestamp: at,
  });
  feed(state, [
    [at, 'mode', 1],
    [at, 'state', 6],
  ]);
  return state;
}

describe('downtime from state signals', () => {
  it('opens a DowntimeEvent on leaving Execute and closes it with end and duration on return, in context', () => {
    const state = running();
    const { documents } = feed(state, [
      ['2026-12-02T08:00:00Z', 'stopReason', 17],
      ['2026-12-02T08:00:00Z', 'state', 11],
      ['2026-12-02T08:05:00Z', 'state', 6],
    ]);
    expect(documents.map((d) => [d.objectKey, d.version, d.document['endTime']])).toEqual([
      ['DT-CAPPER-01-20261202T080000Z', 1, undefined],
      ['DT-CAPPER-01-20261202T080000Z', 2, '2026-12-02T08:05:00.000Z'],
    ]);
    expect(documents[1]!.document).toMatchObject({
      equipmentId: 'CAPPER-01',
      startTime: '2026-12-02T08:00:00.000Z',
      durationSeconds: 300,
      reasonCode: '17',
      reason: 'Cap feed jam',
      lossCategory: 'availability',
      stopKind: 'stop',
      orderId: '1000123',
      operationId: '0010',
      materialDefinitionId: 'FG-500',
      shift: '2026-12-02-early',
    });
    expect(documents[1]!.derivedFrom.map((p) => [p.messageId, p.signal, p.sourceTimestamp])).toEqual([
      ['m2', 'state', '2026-12-02T08:00:00.000Z'],
      ['m3', 'state', '2026-12-02T08:05:00.000Z'],
    ]);
  });

  it('gives a stop that began without a reason the reason given during it, for the whole stop', () => {
    const state = running();
    const { documents } = feed(state, [
      ['2026-12-02T08:00:00Z', 'state', 2],
      ['2026-12-02T08:01:00Z', 'stopReason', 17],
      ['2026-12-02T08:10:00Z', 'state', 6],
    ]);
    expect(documents.map((d) => [d.version, d.document['reasonCode'], d.document['startTime']])).toEqual([
      [1, 'Unknown', '2026-12-02T08:00:00.000Z'],
      [2, '17', '2026-12-02T08:00:00.000Z'],
      [3, '17', '2026-12-02T08:00:00.000Z'],
    ]);
  });

  it('books an unclassified stop of at most microStopSeconds as a micro-stop: speed loss, or delay with isoStrict', () => {
    const signals: Array<[string, string, unknown]> = [
      ['2026-12-02T08:00:00Z', 'state', 2],
      ['2026-12-02T08:01:30Z', 'state', 6],
      ['2026-12-02T08:10:00Z', 'state', 2],
      ['2026-12-02T08:12:01Z', 'state', 6],
    ];
    const { documents } = feed(running(), signals);
    const closed = documents.filter((d) => d.document['endTime']);
    expect(closed.map((d) => [d.document['stopKind'], d.document['lossCategory']])).toEqual([
      ['microStop', 'performance'],
      ['stop', 'availability'],
    ]);
    const strict = feed(running(), signals, { ...SETTINGS, isoStrict: true }).documents.filter(
      (d) => d.document['endTime'],
    );
    expect(strict[0]!.document).toMatchObject({ stopKind: 'microStop', lossCategory: 'availability' });
  });

  it('splits a stop at the shift boundary: one event per shift, with the same reason', () => {
    const state = running('2026-12-02T12:00:00Z');
    const { documents } = feed(state, [
      ['2026-12-02T12:50:00Z', 'stopReason', 17],
      ['2026-12-02T12:50:00Z', 'state', 11],
      ['2026-12-02T13:10:00Z', 'state', 6],
    ]);
    const closed = documents.filter((d) => d.document['endTime']).map((d) => d.document);
    expect(closed.map((d) => [d['startTime'], d['endTime'], d['shift'], d['reasonCode']])).toEqual([
      ['2026-12-02T12:50:00.000Z', '2026-12-02T13:00:00.000Z', '2026-12-02-early', '17'],
      ['2026-12-02T13:00:00.000Z', '2026-12-02T13:10:00.000Z', '2026-12-02-late', '17'],
    ]);
  });

  it('counts Idle without an order as NoOrder (excluded), and Suspended as starved/blocked', () => {
    const state = initialState(CAPPER.id);
    const { documents } = feed(state, [
      ['2026-12-02T08:00:00Z', 'mode', 1],
      ['2026-12-02T08:00:00Z', 'state', 4],
      ['2026-12-02T08:30:00Z', 'state', 6],
      ['2026-12-02T08:40:00Z', 'state', 5],
      ['2026-12-02T08:45:00Z', 'state', 6],
    ]);
    const closed = documents.filter((d) => d.document['endTime']).map((d) => d.document);
    expect(closed.map((d) => [d['stopKind'], d['lossCategory'], d['reasonCode']])).toEqual([
      ['noOrder', 'excluded', 'Unknown'],
      ['external', 'availability', 'STARVED_BLOCKED'],
    ]);
  });

  it('records late signals, unknown signals, bad quality and unmapped codes without changing what is booked', () => {
    const state = running();
    const before = JSON.stringify(state);
    const late = feed(state, [['2026-12-02T06:59:59Z', 'state', 2]]);
    expect(late.outcomes).toEqual(['SIGNAL_LATE']);
    expect(late.documents).toEqual([]);
    expect(JSON.stringify(state)).toBe(before);
    const result = applySignal(SETTINGS, CAPPER, state, {
      messageId: 'q',
      equipmentId: CAPPER.id,
      signal: 'state',
      value: 2,
      quality: 'bad',
      sourceTimestamp: '2026-12-02T08:00:00Z',
      receivedAt: '2026-12-02T08:00:00Z',
    });
    expect(result.outcome.code).toBe('SIGNAL_BAD_QUALITY');
    const { outcomes, documents } = feed(state, [
      ['2026-12-02T08:00:00Z', 'temperature', 80],
      ['2026-12-02T08:00:00Z', 'state', 99],
      ['2026-12-02T08:00:01Z', 'stopReason', 'X9'],
    ]);
    expect(outcomes).toEqual(['SIGNAL_UNKNOWN', 'STATE_UNMAPPED', 'REASON_UNKNOWN']);
    expect(documents.map((d) => d.document['reasonCode'])).toEqual(['Unknown', 'X9']);
  });
});

describe('counts from counters', () => {
  it('books rises (and a rollover) as ProductionConfirmation increments of the running order at each period end', () => {
    const state = running();
    const { documents, outcomes } = feed(state, [
      ['2026-12-02T07:00:10Z', 'goodCount', 65500],
      ['2026-12-02T07:00:10Z', 'rejectCount', 7],
      ['2026-12-02T07:00:30Z', 'goodCount', 65530],
      ['2026-12-02T07:00:50Z', 'goodCount', 4],
      ['2026-12-02T07:00:50Z', 'rejectCount', 9],
      ['2026-12-02T07:01:05Z', 'goodCount', 10],
    ]);
    expect(outcomes).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(documents).toHaveLength(1);
    const confirmation = documents[0]!;
    expect(confirmation.type).toBe('ProductionConfirmation');
    expect(confirmation.document).toMatchObject({ orderId: '1000123', endTime: '2026-12-02T07:01:00.000Z' });
    const materials = (confirmation.document['segments'] as Array<{ materials: unknown[] }>)[0]!.materials;
    expect(materials).toEqual([
      expect.objectContaining({
        disposition: 'Good',
        quantity: { value: '40', unit: 'EA' },
        materialDefinitionId: 'FG-500',
      }),
      expect.objectContaining({ disposition: 'Scrap', quantity: { value: '2', unit: 'EA' } }),
    ]);
    expect(state.counts).toMatchObject({ good: 6 });
  });

  it('takes a drop without rollover as a reset and an implausible rise as no production', () => {
    const state = running();
    const { outcomes } = feed(state, [
      ['2026-12-02T07:00:10Z', 'rejectCount', 50],
      ['2026-12-02T07:00:20Z', 'rejectCount', 3],
      ['2026-12-02T07:00:20Z', 'goodCount', 100],
      ['2026-12-02T07:00:21Z', 'goodCount', 5000],
      ['2026-12-02T07:00:22Z', 'goodCount', 5010],
    ]);
    expect(outcomes).toEqual([undefined, 'COUNTER_RESET', undefined, 'COUNTER_IMPLAUSIBLE', undefined]);
    expect(state.counts).toMatchObject({ good: 10, reject: 0 });
  });

  it('books the counts of an order when it stops running, and later counts to no order (flagged)', () => {
    const state = running();
    feed(state, [
      ['2026-12-02T07:00:10Z', 'goodCount', 0],
      ['2026-12-02T07:00:20Z', 'goodCount', 20],
    ]);
    const ended = applyOrder(SETTINGS, CAPPER, state, undefined, Date.parse('2026-12-02T07:00:30Z'), {
      messageId: 'order-2',
      signal: 'ProductionOrder',
      sourceTimestamp: '2026-12-02T07:00:30Z',
    });
    expect(ended.map((d) => [d.type, d.document['endTime']])).toEqual([
      ['ProductionConfirmation', '2026-12-02T07:00:30.000Z'],
    ]);
    feed(state, [['2026-12-02T07:00:40Z', 'goodCount', 25]]);
    expect(state.unassigned.good).toBe(5);
  });
});

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

describe('the clock of a silent line', () => {
  it('moves event time on at wall-clock speed less the lateness: counts are booked and an open stop grows', () => {
    const state = running();
    feed(state, [
      ['2026-12-02T07:00:10Z', 'goodCount', 0],
      ['2026-12-02T07:00:20Z', 'goodCount', 20],
      ['2026-12-02T07:00:30Z', 'state', 2],
    ]);
    const settings = {
      ...SETTINGS,
      latenessSeconds: 10,
      maintenanceRules: [{ id: 'long-fault', persists: { minutes: 10 } }],
    };
    const arrival = Date.parse('2026-12-02T07:00:30Z');
    expect(advanceClock(settings, CAPPER, state, arrival + 5_000)).toEqual([]);
    const booked = advanceClock(settings, CAPPER, state, arrival + 40_000);
    expect(booked.map((d) => d.type)).toEqual(['ProductionConfirmation']);
    expect(state.eventTime).toBe(arrival + 30_000);
    const fired = advanceClock(settings, CAPPER, state, arrival + 11 * 60_000);
    expect(fired.map((d) => [d.type, d.document['requestedAt']])).toEqual([
      ['MaintenanceRequest', '2026-12-02T07:10:30.000Z'],
    ]);
    expect(state.stop?.start).toBe(arrival);
  });
});
