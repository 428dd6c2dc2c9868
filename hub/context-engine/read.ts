/**
 * What the engine answers: a work unit's state now, and OEE over a window from the accepted
 * DowntimeEvents and ProductionConfirmations it published (for a line: its bottleneck's time and its
 * last work unit's output).
 */
import type { Db } from '../store/db';
import type { WorkUnitConfig } from './config';
import { reasonOf } from './engine';
import { computeOee, type OeeFigures, type StopRecord } from './oee';
import { shiftsBetween } from './shifts';
import { unitState, type ContextEngine } from './stage';

/** A work unit's state as the API shows it. */
export async function equipmentState(db: Db, engine: ContextEngine, equipmentId: string) {
  const entry = engine.unit(equipmentId);
  if (!entry) return undefined;
  const state = await unitState(db, equipmentId);
  const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
  const stop = state?.stop;
  return {
    equipmentId,
    line: entry.line.id,
    eventTime: iso(state?.eventTime),
    state: state?.state ?? null,
    mode: state?.mode ?? null,
    runningOrder: state?.order ? { ...state.order, since: iso(state.order.since) } : null,
    openStop: stop
      ? {
          id: stop.id,
          kind: stop.kind,
          since: iso(stop.start),
          reasonCode: stop.reasonCode ?? 'Unknown',
          reason: stop.reasonCode ? (reasonOf(engine.config, entry.unit, stop.reasonCode)?.name ?? null) : null,
          shift: stop.shift ?? 'NoShift',
        }
      : null,
    counters: Object.fromEntries(
      Object.entries(state?.counters ?? {}).map(([signal, { value, at }]) => [signal, { value, at: iso(at) }]),
    ),
    pendingCounts: state?.counts
      ? {
          good: state.counts.good,
          reject: state.counts.reject,
          total: state.counts.total,
          since: iso(state.counts.since),
        }
      : null,
    unassignedCounts: state?.unassigned ?? { good: 0, reject: 0, total: 0 },
  };
}

export interface OeeQuery {
  equipment: string;
  from: number;
  to: number;
  now: number;
  groupBy?: 'shift';
}

/** The figures for a work unit or a line over [from, to), or per shift. */
export async function oee(db: Db, engine: ContextEngine, query: OeeQuery) {
  const line = engine.line(query.equipment);
  const units = line ? line.workUnits : engine.unit(query.equipment) ? [engine.unit(query.equipment)!.unit] : [];
  if (units.length === 0) return undefined;
  const timeUnit = units.reduce((a, b) => (b.idealCycleSeconds > a.idealCycleSeconds ? b : a));
  const outputUnit = units[units.length - 1]!;
  const [stops, output] = [await stopsOf(db, engine, timeUnit), await outputOf(db, engine, outputUnit)];
  const figures = (from: number, to: number): OeeFigures => {
    const inWindow = output.filter((entry) => entry.end > from && entry.end <= to);
    return computeOee({
      from,
      to,
      now: query.now,
      timeZone: engine.config.timeZone,
      shifts: engine.config.shifts,
      stops,
      good: inWindow.reduce((sum, entry) => sum + entry.good, 0),
      scrap: inWindow.reduce((sum, entry) => sum + entry.scrap, 0),
      pruSeconds: timeUnit.idealCycleSeconds,
      microStopSeconds: engine.config.microStopSeconds,
      isoStrict: engine.config.isoStrict,
    });
  };
  const basis = line
    ? {
        line: line.id,
        note: `time elements of the bottleneck ${timeUnit.id} (largest PRU), quantities of the last work unit ${outputUnit.id}`,
        timeFrom: timeUnit.id,
        quantitiesFrom: outputUnit.id,
      }
    : {};
  const head = { equipment: query.equipment, from: iso(query.from), to: iso(query.to), ...basis };
  if (query.groupBy !== 'shift') return { ...head, ...figures(query.from, query.to) };
  const groups = shiftsBetween(engine.config.timeZone, engine.config.shifts, query.from, query.to).map((shift) => {
    const from = Math.max(shift.start, query.from);
    const to = Math.min(shift.end, query.to);
    return { key: shift.key, from: iso(from), to: iso(to), ...figures(from, to) };
  });
  return { ...head, groupBy: 'shift', groups };
}

const iso = (ms: number) => new Date(ms).toISOString();

async function stopsOf(db: Db, engine: ContextEngine, unit: WorkUnitConfig): Promise<StopRecord[]> {
  const rows = await db.query<{ data: string }>(
    `SELECT data FROM objects WHERE type = 'DowntimeEvent' AND source_system = $1 AND object_key LIKE $2`,
    [engine.system, `DT-${unit.id}-%`],
  );
  return rows.map(({ data }) => {
    const event = JSON.parse(data) as Record<string, string | undefined>;
    return {
      start: Date.parse(event['startTime']!),
      end: event['endTime'] ? Date.parse(event['endTime']) : null,
      stopKind: event['stopKind'] ?? 'stop',
      lossCategory: event['lossCategory'] ?? 'availability',
      reasonCode: event['reasonCode'] ?? 'Unknown',
      ...(event['reason'] ? { reason: event['reason'] } : {}),
    };
  });
}

async function outputOf(
  db: Db,
  engine: ContextEngine,
  unit: WorkUnitConfig,
): Promise<Array<{ end: number; good: number; scrap: number }>> {
  const rows = await db.query<{ data: string }>(
    `SELECT data FROM objects WHERE type = 'ProductionConfirmation' AND source_system = $1 AND object_key LIKE $2`,
    [engine.system, `PC-%-${unit.id}-%`],
  );
  return rows.flatMap(({ data }) => {
    const confirmation = JSON.parse(data) as {
      endTime?: string;
      hierarchyScope?: { equipmentId?: string };
      segments: Array<{ materials: Array<{ disposition?: string; quantity?: { value: string } }> }>;
    };
    if (confirmation.hierarchyScope?.equipmentId !== unit.id || !confirmation.endTime) return [];
    const sum = (disposition: string) =>
      confirmation.segments
        .flatMap((segment) => segment.materials)
        .filter((material) => material.disposition === disposition)
        .reduce((total, material) => total + Number(material.quantity?.value ?? 0), 0);
    return [{ end: Date.parse(confirmation.endTime), good: sum('Good'), scrap: sum('Scrap') }];
  });
}
