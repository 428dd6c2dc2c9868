/**
 * Counters become quantities of the running order: a reading's rise over the previous one (across a
 * rollover), booked as ProductionConfirmation increments at each count period's end.
 */
import type { CounterConfig, WorkUnitConfig } from './config';
import type { Derived, EngineSettings, Provenance, RunningOrder, SignalOutcome, UnitState } from './engine';
import { compact, iso } from './time-format';

export function periodEnd(settings: EngineSettings, since: number): number {
  const period = settings.countEverySeconds * 1000;
  return Math.floor(since / period) * period + period;
}

export function count(
  state: UnitState,
  counter: CounterConfig,
  value: unknown,
  at: number,
  provenance: Provenance,
): SignalOutcome {
  const next = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof next !== 'number' || !Number.isFinite(next) || next < 0)
    return { booked: false, code: 'COUNTER_NOT_NUMBER', detail: JSON.stringify(value) };
  const last = state.counters[counter.signal];
  state.counters[counter.signal] = { value: next, at };
  // The first value (after a restart of the hub's state) only sets the baseline.
  if (last === undefined) return { booked: true };
  const previous = last.value;
  let delta = next - previous;
  if (delta < 0) {
    if (counter.rollover === undefined)
      return { booked: false, code: 'COUNTER_RESET', detail: `${previous} → ${next}` };
    delta = counter.rollover - previous + next;
  }
  if (delta === 0) return { booked: true };
  const seconds = Math.max((at - last.at) / 1000, 1e-3);
  if (counter.maxPerSecond !== undefined && delta / seconds > counter.maxPerSecond)
    return {
      booked: false,
      code: 'COUNTER_IMPLAUSIBLE',
      detail: `+${delta} in ${seconds} s (at most ${counter.maxPerSecond}/s)`,
    };
  if (!state.order) {
    state.unassigned[counter.kind] += delta;
    return { booked: true, detail: 'no running order' };
  }
  state.counts ??= { good: 0, reject: 0, total: 0, since: at, signals: [] };
  state.counts[counter.kind] += delta;
  state.counts.signals.push(provenance);
  return { booked: true };
}

/** The id of the ProductionConfirmation that books counts begun at `since` of the running order. */
export function countsId(equipmentId: string, order: RunningOrder, since: number): string {
  return `PC-${order.orderId}-${equipmentId}-${compact(since)}`;
}

/** The counts since the last booking as a ProductionConfirmation increment of the running order. */
export function bookCounts(unit: WorkUnitConfig, state: UnitState, end: number): Derived | undefined {
  const counts = state.counts;
  const order = state.order;
  state.counts = undefined;
  if (!counts || !order) return undefined;
  const good = counts.total > 0 ? counts.total - counts.reject : counts.good;
  const id = countsId(unit.id, order, counts.since);
  const material = order.materialDefinitionId ?? 'UNSPECIFIED';
  const quantity = (value: number) => ({ value: String(value), unit: 'EA' });
  return {
    type: 'ProductionConfirmation',
    objectKey: id,
    version: 1,
    occurredAt: iso(end),
    derivedFrom: counts.signals,
    document: {
      id,
      orderId: order.orderId,
      state: 'Running',
      startTime: iso(counts.since),
      endTime: iso(end),
      hierarchyScope: { equipmentId: unit.id, equipmentLevel: 'WorkUnit' },
      segments: [
        {
          id: order.operationId ?? order.orderId,
          ...(order.operationId ? { processSegmentId: order.operationId } : {}),
          actualStartTime: iso(counts.since),
          actualEndTime: iso(end),
          equipment: [{ id: unit.id, equipmentId: unit.id }],
          personnel: [],
          materials: [
            {
              id: 'good',
              materialDefinitionId: material,
              use: 'Produced',
              quantity: quantity(good),
              disposition: 'Good',
            },
            {
              id: 'scrap',
              materialDefinitionId: material,
              use: 'Produced',
              quantity: quantity(counts.reject),
              disposition: 'Scrap',
            },
          ],
        },
      ],
    },
  };
}
