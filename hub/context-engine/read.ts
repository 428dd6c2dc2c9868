/**
 * What the engine answers: a work unit's state now, and OEE over a window (whole, per shift or per
 * order) from the accepted DowntimeEvents and ProductionConfirmations it published, the accepted
 * ProductionOrders' history and the planned-downtime calendar (for a line: its bottleneck's time and
 * its last work unit's output).
 */
import type { Db } from '../store/db';
import type { WorkUnitConfig } from './config';
import { reasonOf } from './engine';
import { computeOee, type OeeFigures, type StopRecord } from './oee';
import { plannedDowntimeOf, shiftsBetween } from './shifts';
import { unitState, type ContextEngine, type OrderLike } from './stage';

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
  groupBy?: 'shift' | 'order';
}

/** The group of the time no order ran (and of the counts booked to none). */
export const NO_ORDER = 'NoOrder';

type Span = { start: number; end: number };

/**
 * The figures for a work unit or a line over [from, to), or per shift, or per order. For a line the
 * time elements are its bottleneck's (the work unit with the largest PRU) and the quantities its last
 * work unit's, as the answer says.
 */
export async function oee(db: Db, engine: ContextEngine, query: OeeQuery) {
  const line = engine.line(query.equipment);
  const entry = engine.unit(query.equipment);
  const units = line ? line.workUnits : entry ? [entry.unit] : [];
  if (units.length === 0) return undefined;
  const lineId = line?.id ?? entry!.line.id;
  const { config } = engine;
  const timeUnit = units.reduce((a, b) => (b.idealCycleSeconds > a.idealCycleSeconds ? b : a));
  const outputUnit = units[units.length - 1]!;
  const [stops, output] = [await stopsOf(db, engine, timeUnit), await outputOf(db, engine, outputUnit)];
  const plannedDowntime = plannedDowntimeOf(config.timeZone, config.plannedDowntime, timeUnit.id, lineId);
  const figures = (from: number, to: number, only?: { within: Span[]; orderId: string | null }): OeeFigures => {
    const inWindow = output.filter(
      (entry) => entry.end > from && entry.end <= to && (only === undefined || entry.orderId === only.orderId),
    );
    return computeOee({
      from,
      to,
      now: query.now,
      timeZone: config.timeZone,
      shifts: config.shifts,
      plannedDowntime,
      ...(only ? { within: only.within } : {}),
      stops,
      good: inWindow.reduce((sum, entry) => sum + entry.good, 0),
      scrap: inWindow.reduce((sum, entry) => sum + entry.scrap, 0),
      pruSeconds: timeUnit.idealCycleSeconds,
      microStopSeconds: config.microStopSeconds,
      isoStrict: config.isoStrict,
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
  if (query.groupBy === 'shift') {
    const groups = shiftsBetween(config.timeZone, config.shifts, query.from, query.to).map((shift) => {
      const from = Math.max(shift.start, query.from);
      const to = Math.min(shift.end, query.to);
      return { key: shift.key, from: iso(from), to: iso(to), ...figures(from, to) };
    });
    return { ...head, groupBy: 'shift', groups };
  }
  if (query.groupBy === 'order') {
    const runs = await orderRuns(db, timeUnit.id, lineId);
    const groups = orderGroups(runs, output, query).map(({ key, within }) => {
      const [first, last] = [within[0], within[within.length - 1]];
      return {
        key,
        from: iso(first?.start ?? query.from),
        to: iso(last?.end ?? query.to),
        runs: within.map((span) => ({ from: iso(span.start), to: iso(span.end) })),
        ...figures(query.from, query.to, { within, orderId: key === NO_ORDER ? null : key }),
      };
    });
    return { ...head, groupBy: 'order', groups };
  }
  return { ...head, ...figures(query.from, query.to) };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One group per order that ran on the time unit within [from, to) or whose counts were booked in it
 * (by the confirmations' end, as ungrouped), in the order they first ran, and `NoOrder` for the time
 * no order ran. The groups' time adds up to the window's: a stop that outlasts its order (it keeps the
 * order it began with) counts, after the order's end, to what ran next.
 */
function orderGroups(runs: OrderRun[], output: Output[], query: OeeQuery): Array<{ key: string; within: Span[] }> {
  const within = new Map<string, Span[]>();
  for (const run of runs) {
    const start = Math.max(run.start, query.from);
    const end = Math.min(run.end ?? query.to, query.to);
    if (end <= start) continue;
    within.set(run.orderId, [...(within.get(run.orderId) ?? []), { start, end }]);
  }
  for (const entry of output)
    if (entry.orderId && entry.end > query.from && entry.end <= query.to && !within.has(entry.orderId))
      within.set(entry.orderId, []);
  const ran = [...within.values()].flat().sort((a, b) => a.start - b.start);
  const idle: Span[] = [];
  let cursor = query.from;
  for (const span of ran) {
    if (span.start > cursor) idle.push({ start: cursor, end: span.start });
    cursor = Math.max(cursor, span.end);
  }
  if (cursor < query.to) idle.push({ start: cursor, end: query.to });
  const groups = [...within].map(([key, spans]) => ({ key, within: spans }));
  if (idle.length > 0) groups.push({ key: NO_ORDER, within: idle });
  const first = (group: { within: Span[] }) => group.within[0]?.start ?? query.from;
  return groups.sort((a, b) => first(a) - first(b));
}

interface OrderRun {
  orderId: string;
  start: number;
  /** null while it still runs. */
  end: number | null;
}

/**
 * When each order ran on a work unit, read from the accepted revisions of ProductionOrders (the
 * objects' history) by the rule the engine follows (stage.ts, applyOrder): an order placed on the
 * unit — its hierarchy scope or a segment's equipment names the unit or its line — runs from a
 * revision in state Running, at that revision's occurredAt, until a revision of it in any other state
 * or until another order starts running there. The history is taken, rather than the spans of the
 * engine's own DowntimeEvents and ProductionConfirmations, because those exist only where the unit
 * stopped or counted: an order that ran without either still ran, and that time is its own. Revisions
 * are taken in the order they were accepted, as the engine took them, and a change never goes back
 * before the one before it. (The engine moves an order change that arrives after later signals to
 * the unit's event time, which the history does not hold: such late changes can read a little
 * earlier here.)
 */
async function orderRuns(db: Db, unitId: string, lineId: string): Promise<OrderRun[]> {
  const rows = await db.query<{ object_key: string; occurred_at: string; data: string }>(
    `SELECT object_key, occurred_at, data FROM object_history WHERE type = 'ProductionOrder'
     ORDER BY recorded_at, object_key, revision`,
  );
  const runs: OrderRun[] = [];
  let current: OrderRun | undefined;
  let last = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    const order = JSON.parse(row.data) as OrderLike;
    if (!placedOn(order, unitId, lineId)) continue;
    const at = Math.max(Date.parse(row.occurred_at), last);
    if (Number.isNaN(at)) continue;
    last = at;
    if (order.state === 'Running') {
      if (current?.orderId === row.object_key) continue;
      if (current) current.end = at;
      current = { orderId: row.object_key, start: at, end: null };
      runs.push(current);
    } else if (current?.orderId === row.object_key) {
      current.end = at;
      current = undefined;
    }
  }
  return runs;
}

function placedOn(order: OrderLike, unitId: string, lineId: string): boolean {
  const named = [
    order.hierarchyScope?.equipmentId,
    ...(order.segments ?? []).flatMap((segment) => (segment.equipment ?? []).map((item) => item.equipmentId)),
  ];
  return named.some((id) => id === unitId || id === lineId);
}

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

interface Output {
  orderId: string | null;
  end: number;
  good: number;
  scrap: number;
}

async function outputOf(db: Db, engine: ContextEngine, unit: WorkUnitConfig): Promise<Output[]> {
  const rows = await db.query<{ data: string }>(
    `SELECT data FROM objects WHERE type = 'ProductionConfirmation' AND source_system = $1 AND object_key LIKE $2`,
    [engine.system, `PC-%-${unit.id}-%`],
  );
  return rows.flatMap(({ data }) => {
    const confirmation = JSON.parse(data) as {
      orderId?: string;
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
    return [
      {
        orderId: confirmation.orderId ?? null,
        end: Date.parse(confirmation.endTime),
        good: sum('Good'),
        scrap: sum('Scrap'),
      },
    ];
  });
}
