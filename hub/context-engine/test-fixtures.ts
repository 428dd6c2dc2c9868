/** What the engine's unit tests share: the seed's calendar, the capper, its order, and feeding signals. */
import { validateDocument } from '../../schemas/validate';
import type { WorkUnitConfig } from './config';
import { applyOrder, applySignal, initialState, type Derived, type EngineSettings, type UnitState } from './engine';

export const SETTINGS: EngineSettings = {
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
export const CAPPER: WorkUnitConfig = {
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
export const ORDER = { orderId: '1000123', operationId: '0010', materialDefinitionId: 'FG-500', since: 0 };

/** Feeds signals `[time, signal, value]` to a unit; returns every document and outcome. */
export function feed(state: UnitState, signals: Array<[string, string, unknown]>, settings = SETTINGS) {
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

export function running(at = '2026-12-02T07:00:00Z'): UnitState {
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
