import { advanceClock, applyOrder, applySignal, initialState, type Derived, type UnitState } from './engine';
import { CAPPER, SETTINGS, feed, running } from './test-fixtures';

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

/** A DowntimeEvent revision in short: id, version, start, end (null while open), kind, loss and reason. */
const revision = (d: Derived) => [
  d.objectKey,
  d.version,
  d.document['startTime'],
  d.document['endTime'] ?? null,
  d.document['stopKind'],
  d.document['lossCategory'],
  d.document['reasonCode'],
];
const downtime = (documents: Derived[]) => documents.filter((d) => d.type === 'DowntimeEvent');

describe('a stop split at a shift change is judged as a whole', () => {
  const A = 'DT-CAPPER-01-20261201T125930Z';
  const B = 'DT-CAPPER-01-20261201T130000Z';
  const early = '2026-12-01T12:59:30.000Z';
  const change = '2026-12-01T13:00:00.000Z';

  it('books both parts of a 330 s unknown stop across the 13:00Z change as stops, not the first as a micro-stop', () => {
    const state = running('2026-12-01T12:00:00Z');
    const { documents } = feed(state, [
      ['2026-12-01T12:59:30Z', 'state', 2],
      ['2026-12-01T13:05:00Z', 'state', 6],
    ]);
    expect(downtime(documents).map(revision)).toEqual([
      [A, 1, early, null, 'stop', 'availability', 'Unknown'],
      [A, 2, early, change, 'stop', 'availability', 'Unknown'],
      [B, 1, change, null, 'stop', 'availability', 'Unknown'],
      [B, 2, change, '2026-12-01T13:05:00.000Z', 'stop', 'availability', 'Unknown'],
    ]);
    expect(documents.map((d) => d.document['shift'])).toEqual([
      '2026-12-01-early',
      '2026-12-01-early',
      '2026-12-01-late',
      '2026-12-01-late',
    ]);
  });

  it('closes no part while the whole stop may still be a micro-stop: it ends up a stop past the threshold, else a micro-stop', () => {
    const clock = { ...SETTINGS, latenessSeconds: 0 };
    const start = Date.parse('2026-12-01T12:59:30Z');
    const grows = running('2026-12-01T12:00:00Z');
    const opened = feed(grows, [['2026-12-01T12:59:30Z', 'state', 2]]).documents;
    // 40 s in, 10 s past the change: the stop may still end as a micro-stop, so nothing is closed.
    expect(advanceClock(clock, CAPPER, grows, start + 40_000)).toEqual([]);
    // 130 s in: no longer a micro-stop, so the part before the change closes as a stop.
    const past = advanceClock(clock, CAPPER, grows, start + 130_000);
    const ended = feed(grows, [['2026-12-01T13:02:00Z', 'state', 6]]).documents;
    expect([...opened, ...past, ...ended].map(revision)).toEqual([
      [A, 1, early, null, 'stop', 'availability', 'Unknown'],
      [A, 2, early, change, 'stop', 'availability', 'Unknown'],
      [B, 1, change, null, 'stop', 'availability', 'Unknown'],
      [B, 2, change, '2026-12-01T13:02:00.000Z', 'stop', 'availability', 'Unknown'],
    ]);

    const short = running('2026-12-01T12:00:00Z');
    const first = feed(short, [['2026-12-01T12:59:30Z', 'state', 2]]).documents;
    expect(advanceClock(clock, CAPPER, short, start + 40_000)).toEqual([]);
    const end = feed(short, [['2026-12-01T13:00:50Z', 'state', 6]]).documents;
    expect([...first, ...end].map(revision)).toEqual([
      [A, 1, early, null, 'stop', 'availability', 'Unknown'],
      [A, 2, early, change, 'microStop', 'performance', 'Unknown'],
      [B, 1, change, '2026-12-01T13:00:50.000Z', 'microStop', 'performance', 'Unknown'],
    ]);
  });

  it('keeps a stop that ends exactly at a shift’s end as one event, with no empty part after it', () => {
    const state = running('2026-12-02T12:00:00Z');
    const { documents } = feed(state, [
      ['2026-12-02T12:50:00Z', 'state', 2],
      ['2026-12-02T13:00:00Z', 'state', 6],
    ]);
    expect(documents.map((d) => [d.objectKey, d.version, d.document['endTime']])).toEqual([
      ['DT-CAPPER-01-20261202T125000Z', 1, undefined],
      ['DT-CAPPER-01-20261202T125000Z', 2, '2026-12-02T13:00:00.000Z'],
    ]);
  });
});

describe('stop ids', () => {
  const A = 'DT-CAPPER-01-20261201T114000Z';
  const B = 'DT-CAPPER-01-20261201T115000Z';
  const completed = (state: UnitState, settings = SETTINGS) =>
    applyOrder(settings, CAPPER, state, undefined, Date.parse('2026-12-01T11:40:00Z'), {
      messageId: 'order-2',
      signal: 'ProductionOrder',
      sourceTimestamp: '2026-12-01T11:40:00.000Z',
    });

  it('gives a stop that begins in the same second as the one before it a distinct id, the same on every replay', () => {
    const replay = () => {
      const state = running('2026-12-01T11:00:00Z');
      // Idle while the order runs is a stop; the order completes that instant: the stop ends, NoOrder begins.
      const documents = feed(state, [['2026-12-01T11:40:00Z', 'state', 4]]).documents;
      documents.push(...completed(state));
      documents.push(
        ...feed(state, [
          ['2026-12-01T11:50:00.100Z', 'state', 6],
          ['2026-12-01T11:50:00.200Z', 'state', 2],
          ['2026-12-01T11:50:00.400Z', 'state', 6],
          ['2026-12-01T11:50:00.700Z', 'state', 2],
        ]).documents,
      );
      return documents.map((d) => [d.objectKey, d.version, d.document['stopKind'], d.document['durationSeconds']]);
    };
    const documents = replay();
    expect(documents).toEqual([
      [A, 1, 'stop', undefined],
      [A, 2, 'microStop', 0],
      [`${A}-2`, 1, 'noOrder', undefined],
      [`${A}-2`, 2, 'noOrder', 600.1],
      [B, 1, 'stop', undefined],
      [B, 2, 'microStop', 0.2],
      [`${B}-2`, 1, 'stop', undefined],
    ]);
    expect(replay()).toEqual(documents);
  });

  it('keeps them distinct for a state saved before ids could collide, and gives an absorbed stop’s id to the next', () => {
    const state = running('2026-12-01T11:00:00Z');
    feed(state, [['2026-12-01T11:40:00Z', 'state', 4]]);
    const saved = JSON.parse(
      JSON.stringify(state, (key, value: unknown) => (key === 'lastStopId' ? undefined : value)),
    );
    expect(completed(saved as UnitState).map((d) => [d.objectKey, d.version])).toEqual([
      [A, 2],
      [`${A}-2`, 1],
    ]);

    // Behind a noise filter the empty stop is never published, and NoOrder takes the plain id.
    const noise = { ...SETTINGS, ignoreBelowSeconds: 5 };
    const filtered = running('2026-12-01T11:00:00Z');
    const documents = feed(filtered, [['2026-12-01T11:40:00Z', 'state', 4]], noise).documents;
    documents.push(...completed(filtered, noise));
    documents.push(...feed(filtered, [['2026-12-01T11:41:00Z', 'goodCount', 0]], noise).documents);
    expect(documents.map((d) => [d.objectKey, d.version, d.document['stopKind']])).toEqual([[A, 1, 'noOrder']]);
  });
});

describe('the noise filter (ignoreBelowSeconds)', () => {
  const noise = { ...SETTINGS, ignoreBelowSeconds: 10 };
  const A = 'DT-CAPPER-01-20261202T080000Z';
  const start = '2026-12-02T08:00:00.000Z';

  it('absorbs a run shorter than the filter between two stops: one stop, and the counts made in the run booked', () => {
    const state = running();
    const { documents } = feed(
      state,
      [
        ['2026-12-02T07:59:00Z', 'goodCount', 100],
        ['2026-12-02T08:00:00Z', 'state', 2],
        ['2026-12-02T08:03:00Z', 'state', 6],
        ['2026-12-02T08:03:04Z', 'goodCount', 103],
        ['2026-12-02T08:03:06Z', 'state', 2],
        ['2026-12-02T08:06:00Z', 'state', 6],
        ['2026-12-02T08:06:30Z', 'goodCount', 110],
        ['2026-12-02T08:07:00Z', 'goodCount', 111],
      ],
      noise,
    );
    expect(
      documents.map((d) =>
        d.type === 'DowntimeEvent' ? revision(d) : [d.type, d.document['startTime'], d.document['endTime']],
      ),
    ).toEqual([
      [A, 1, start, null, 'stop', 'availability', 'Unknown'],
      ['ProductionConfirmation', '2026-12-02T08:03:04.000Z', '2026-12-02T08:04:00.000Z'],
      [A, 2, start, '2026-12-02T08:06:00.000Z', 'stop', 'availability', 'Unknown'],
      ['ProductionConfirmation', '2026-12-02T08:06:30.000Z', '2026-12-02T08:07:00.000Z'],
    ]);
    const good = (d: Derived) =>
      (d.document['segments'] as Array<{ materials: Array<{ quantity: { value: string } }> }>)[0]!.materials[0]!
        .quantity.value;
    expect(documents.filter((d) => d.type === 'ProductionConfirmation').map(good)).toEqual(['3', '7']);
  });

  it('ends the stop where the run began once the run lasts the filter, on a silent line too; a short run before another kind of stop is the stop’s', () => {
    const clock = { ...noise, latenessSeconds: 0 };
    const state = running();
    const opened = feed(
      state,
      [
        ['2026-12-02T08:00:00Z', 'state', 2],
        ['2026-12-02T08:01:00Z', 'state', 6],
      ],
      noise,
    ).documents;
    const run = Date.parse('2026-12-02T08:01:00Z');
    expect(advanceClock(clock, CAPPER, state, run + 9_000)).toEqual([]);
    const ended = advanceClock(clock, CAPPER, state, run + 10_000);
    expect([...opened, ...ended].map(revision)).toEqual([
      [A, 1, start, null, 'stop', 'availability', 'Unknown'],
      [A, 2, start, '2026-12-02T08:01:00.000Z', 'microStop', 'performance', 'Unknown'],
    ]);

    const starved = running();
    const { documents } = feed(
      starved,
      [
        ['2026-12-02T08:00:00Z', 'state', 2],
        ['2026-12-02T08:03:00Z', 'state', 6],
        ['2026-12-02T08:03:04Z', 'state', 5],
        ['2026-12-02T08:05:00Z', 'state', 6],
        ['2026-12-02T08:06:00Z', 'goodCount', 1],
      ],
      noise,
    );
    expect(downtime(documents).map(revision)).toEqual([
      [A, 1, start, null, 'stop', 'availability', 'Unknown'],
      [A, 2, start, '2026-12-02T08:03:04.000Z', 'stop', 'availability', 'Unknown'],
      [
        'DT-CAPPER-01-20261202T080304Z',
        1,
        '2026-12-02T08:03:04.000Z',
        null,
        'external',
        'availability',
        'STARVED_BLOCKED',
      ],
      [
        'DT-CAPPER-01-20261202T080304Z',
        2,
        '2026-12-02T08:03:04.000Z',
        '2026-12-02T08:05:00.000Z',
        'external',
        'availability',
        'STARVED_BLOCKED',
      ],
    ]);
  });

  it('still ends a stop where the run began when a reason given during the run settles it and it splits at a shift change', () => {
    const state = running('2026-12-02T12:00:00Z');
    feed(
      state,
      [
        ['2026-12-02T12:59:30Z', 'state', 2],
        ['2026-12-02T13:00:30Z', 'state', 6],
      ],
      noise,
    );
    // An operator's reason, as the API's correction applies it to the open stop (its revision 2).
    state.stop!.reasonCode = '17';
    state.stop!.revision = 2;
    const { documents } = feed(
      state,
      [
        ['2026-12-02T13:00:35Z', 'goodCount', 1],
        ['2026-12-02T13:00:45Z', 'goodCount', 2],
      ],
      noise,
    );
    expect(downtime(documents).map((d) => [d.objectKey, d.version, d.document['endTime'] ?? null])).toEqual([
      ['DT-CAPPER-01-20261202T125930Z', 3, '2026-12-02T13:00:00.000Z'],
      ['DT-CAPPER-01-20261202T130000Z', 1, null],
      ['DT-CAPPER-01-20261202T130000Z', 2, '2026-12-02T13:00:30.000Z'],
    ]);
    expect(state.stop).toBeUndefined();
  });

  it('absorbs a stop shorter than the filter also when its reason came with it', () => {
    const state = running();
    const { documents } = feed(
      state,
      [
        ['2026-12-02T08:00:00Z', 'state', 11],
        ['2026-12-02T08:00:00Z', 'stopReason', 17],
        ['2026-12-02T08:00:03Z', 'state', 6],
        ['2026-12-02T08:00:03Z', 'stopReason', 0],
        ['2026-12-02T08:00:30Z', 'goodCount', 5],
      ],
      noise,
    );
    expect(downtime(documents)).toEqual([]);
  });

  it('keeps a stop that goes from one stop state straight to another as one stop, whose reason given later is the whole stop’s', () => {
    const state = running();
    const { documents } = feed(state, [
      ['2026-12-02T08:00:00Z', 'state', 7], // Stopping
      ['2026-12-02T08:00:05Z', 'state', 2], // Stopped
      ['2026-12-02T08:02:00Z', 'state', 11], // Held
      ['2026-12-02T08:03:00Z', 'stopReason', 17],
      ['2026-12-02T08:10:00Z', 'state', 6],
    ]);
    expect(downtime(documents).map(revision)).toEqual([
      [A, 1, start, null, 'stop', 'availability', 'Unknown'],
      [A, 2, start, null, 'stop', 'availability', '17'],
      [A, 3, start, '2026-12-02T08:10:00.000Z', 'stop', 'availability', '17'],
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
