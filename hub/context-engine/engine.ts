/**
 * The engine's core: one work unit's state and one signal in, the new state, the business documents
 * the signal completes and what became of it out. Pure and deterministic: it works in event time (the
 * signals' source timestamps), so replaying a day's signals gives that day's events again.
 */
import type { ContextConfig, CounterConfig, ReasonConfig, WorkUnitConfig } from './config';
import type { ContextErrorCode } from './errors';
import { bookCounts, count, periodEnd } from './counts';
import { onReasonedStop, onStopDuration, type OpenRequest } from './maintenance';
import { shiftAt, shiftsBetween } from './shifts';
import { compact, iso } from './time-format';
import { modeOf, stateOf, STATE_MAPS, type ModeClass, type StateClass } from './state-maps';

/** A signal message as the connectors emit it, with the id of the message that carried it. */
export interface Signal {
  messageId: string;
  equipmentId: string;
  signal: string;
  value: unknown;
  quality: string;
  sourceTimestamp: string | null;
  receivedAt: string;
}

/** Which signal a derived document came from. */
export interface Provenance {
  messageId: string;
  signal: string;
  sourceTimestamp: string;
}

/** What a stop counts as: a stop, starved or blocked by a neighbour, waiting with no order, or outside OEE. */
export type StopKind = 'stop' | 'external' | 'noOrder' | 'excluded';

export interface RunningOrder {
  orderId: string;
  operationId?: string;
  materialDefinitionId?: string;
  since: number;
}

export interface OpenStop {
  id: string;
  kind: StopKind;
  start: number;
  /** Where the stop began, before any split at a shift's end. */
  firstStart: number;
  /** Persists rules that already fired for this stop. */
  rulesFired?: string[];
  /** Where this event ends unless the stop does first: the end of its shift, or the next shift's start. */
  until: number | null;
  shift?: string;
  reasonCode?: string;
  order?: RunningOrder;
  revision: number;
  signals: Provenance[];
  /**
   * The unit has run again since `at`, for less than the noise filter so far: the stop ended there once
   * the run lasts the filter, and goes on as one if the unit stops again before.
   */
  ending?: { at: number; signal: Provenance };
}

export interface Counts {
  good: number;
  reject: number;
  total: number;
  since: number;
  /**
   * The signals counted, in order. The engine keeps them all; the hub's store keeps only those since
   * the last save here and the earlier ones in chunks (context_count_signals, `chunks` of them), so a
   * unit's state stays small however long a count period is.
   */
  signals: Provenance[];
  chunks?: number;
}

/** Everything the engine holds for a work unit; plain JSON, persisted after every batch. */
export interface UnitState {
  equipmentId: string;
  eventTime: number;
  /** Wall-clock time the last signal was applied: how long the line has been silent. */
  lastArrival?: number;
  state?: { code: string; name: string; class: StateClass };
  mode?: { code: string; name: string; class: ModeClass };
  reasonCode?: string;
  stop?: OpenStop;
  /** The id of the last stop opened: a stop beginning in the same second takes the next suffix. */
  lastStopId?: string;
  order?: RunningOrder;
  /** Each counter's last value and when it was read. */
  counters: Record<string, { value: number; at: number }>;
  counts?: Counts;
  /** Units counted while no order ran: flagged, booked to no order. */
  unassigned: { good: number; reject: number; total: number };
  /** Recent reasoned stops per repeated-stop rule and reason. */
  occurrences?: Record<string, Array<{ stop: string; start: number }>>;
  /** Open MaintenanceRequests per rule and reason. */
  requests?: Record<string, OpenRequest>;
}

/** A document the engine publishes, as its configured system. */
export interface Derived {
  type: 'DowntimeEvent' | 'ProductionConfirmation' | 'MaintenanceRequest';
  objectKey: string;
  version: number;
  occurredAt: string;
  document: Record<string, unknown>;
  derivedFrom: Provenance[];
}

export interface SignalOutcome {
  booked: boolean;
  code?: ContextErrorCode;
  detail?: string;
}

/** The engine's settings: the context configuration after validation, defaults applied. */
export type EngineSettings = Pick<
  ContextConfig,
  | 'timeZone'
  | 'shifts'
  | 'microStopSeconds'
  | 'ignoreBelowSeconds'
  | 'isoStrict'
  | 'countEverySeconds'
  | 'reasons'
  | 'maintenanceRules'
>;

export const STARVED_BLOCKED = 'STARVED_BLOCKED';

export function initialState(equipmentId: string): UnitState {
  return { equipmentId, eventTime: 0, counters: {}, unassigned: { good: 0, reject: 0, total: 0 } };
}

/** Applies one signal; `state` is changed in place and the documents it completed are returned. */
export function applySignal(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  signal: Signal,
): { documents: Derived[]; outcome: SignalOutcome } {
  const at = Date.parse(signal.sourceTimestamp ?? signal.receivedAt);
  if (Number.isNaN(at)) return { documents: [], outcome: { booked: false, code: 'SIGNAL_UNKNOWN', detail: 'no time' } };
  if (at < state.eventTime)
    return {
      documents: [],
      outcome: { booked: false, code: 'SIGNAL_LATE', detail: `${iso(at)} is before ${iso(state.eventTime)}` },
    };
  const role = roleOf(unit, signal.signal);
  if (!role)
    return { documents: [], outcome: { booked: false, code: 'SIGNAL_UNKNOWN', detail: `signal "${signal.signal}"` } };
  if (signal.quality !== 'good')
    return { documents: [], outcome: { booked: false, code: 'SIGNAL_BAD_QUALITY', detail: signal.quality } };
  const provenance: Provenance = { messageId: signal.messageId, signal: signal.signal, sourceTimestamp: iso(at) };
  const documents = advance(settings, unit, state, at);
  state.eventTime = at;
  state.lastArrival = Date.parse(signal.receivedAt) || state.lastArrival;
  const map = STATE_MAPS[unit.stateMap ?? 'packml'];
  let outcome: SignalOutcome = { booked: true };
  if (role === 'state') {
    const entry = stateOf(map, signal.value);
    state.state = { code: entry.code, name: entry.name, class: entry.class };
    if (!entry.known) outcome = { booked: true, code: 'STATE_UNMAPPED', detail: `state ${entry.code}` };
    documents.push(...transition(settings, unit, state, at, provenance));
  } else if (role === 'mode') {
    const entry = modeOf(map, signal.value);
    state.mode = { code: entry.code, name: entry.name, class: entry.class };
    if (!entry.known) outcome = { booked: true, code: 'STATE_UNMAPPED', detail: `mode ${entry.code}` };
    documents.push(...transition(settings, unit, state, at, provenance));
  } else if (role === 'stopReason') {
    const code = String(signal.value ?? '');
    state.reasonCode = code === '' || code === '0' ? undefined : code;
    if (state.reasonCode !== undefined && !reasonOf(settings, unit, state.reasonCode))
      outcome = { booked: true, code: 'REASON_UNKNOWN', detail: `reason ${state.reasonCode}` };
    documents.push(...takeReason(settings, unit, state, at, provenance));
  } else {
    outcome = count(state, role, signal.value, at, provenance);
  }
  return { documents, outcome };
}

type Role = 'state' | 'mode' | 'stopReason' | CounterConfig;

function roleOf(unit: WorkUnitConfig, signal: string): Role | undefined {
  const { signals } = unit;
  if (signals.state === signal) return 'state';
  if (signals.mode === signal) return 'mode';
  if (signals.stopReason === signal) return 'stopReason';
  return signals.counters.find((counter) => counter.signal === signal);
}

export function reasonOf(settings: EngineSettings, unit: WorkUnitConfig, code: string): ReasonConfig | undefined {
  return (
    settings.reasons.find((reason) => reason.code === code && reason.equipmentClass === unit.equipmentClass) ??
    settings.reasons.find((reason) => reason.code === code && reason.equipmentClass === undefined)
  );
}

/** What the unit is doing now: running, or which kind of stop. */
function kindOf(state: UnitState): StopKind | 'running' | undefined {
  if (!state.state) return undefined;
  if (state.mode && state.mode.class !== 'produce') return 'excluded';
  switch (state.state.class) {
    case 'running':
      return 'running';
    case 'external':
      return 'external';
    case 'idle':
      return state.order ? 'stop' : 'noOrder';
    default:
      return 'stop';
  }
}

/**
 * After a state, mode or order change: closes the open stop and opens the next when the kind changed.
 * Stop states in a row (Stopping, Stopped, Held…) are one stop. Behind a noise filter a return to
 * running only marks where the stop may have ended: `advance` closes it there once the run has lasted
 * the filter, and a stop of the same kind before that goes on as one.
 */
function transition(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  at: number,
  provenance: Provenance,
): Derived[] {
  const kind = kindOf(state);
  const stop = state.stop;
  if (stop?.ending) {
    if (kind === 'running') return [];
    if (kind === stop.kind) {
      delete stop.ending;
      return takeReason(settings, unit, state, at, undefined);
    }
    // Another kind of stop: the short run before it belongs to the stop that ends here.
  } else if (stop && stop.kind === kind) return [];
  const documents: Derived[] = [];
  if (stop) {
    if (kind === 'running' && settings.ignoreBelowSeconds > 0) {
      stop.ending = { at, signal: provenance };
      return documents;
    }
    documents.push(...closeStop(settings, unit, state, at, at, provenance));
  }
  if (kind !== undefined && kind !== 'running') {
    documents.push(...openStop(settings, unit, state, kind, at, provenance));
  }
  return documents;
}

/**
 * A stop that began without a reason takes the first one given during it, for the whole stop. One
 * given while a run after the stop is still shorter than the noise filter waits in `state.reasonCode`:
 * it is the stop's if the unit stops again before the run counts, else the next stop's.
 */
function takeReason(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  at: number,
  provenance: Provenance | undefined,
): Derived[] {
  const stop = state.stop;
  if (!stop || stop.ending || stop.kind !== 'stop' || stop.reasonCode !== undefined || state.reasonCode === undefined)
    return [];
  stop.reasonCode = state.reasonCode;
  if (provenance) stop.signals.push(provenance);
  // Not published yet (inside the noise filter): its first revision carries the reason and counts it.
  if (stop.revision === 0) return [];
  return [
    publishStop(settings, unit, stop, at, undefined, undefined),
    ...onReasonedStop(settings, unit, state, stop, at),
  ];
}

function openStop(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  kind: StopKind,
  at: number,
  provenance: Provenance,
): Derived[] {
  const reasonCode = kind === 'external' ? STARVED_BLOCKED : kind === 'stop' ? state.reasonCode : undefined;
  const stop = beginPart(settings, unit, state, at, {
    kind,
    firstStart: at,
    signals: [provenance],
    ...(reasonCode === undefined ? {} : { reasonCode }),
    ...(state.order ? { order: state.order } : {}),
  });
  // Behind a noise filter a stop is published once it has lasted the filter (`advance`), or never.
  if (settings.ignoreBelowSeconds > 0) return [];
  return publishPart(settings, unit, state, stop, at, undefined, undefined);
}

/** The open stop from `at` on, in the shift there: a new stop, or the rest of one split at a shift's end. */
function beginPart(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  at: number,
  stop: Pick<OpenStop, 'kind' | 'firstStart' | 'signals' | 'rulesFired' | 'reasonCode' | 'order' | 'ending'>,
): OpenStop {
  const shift = shiftAt(settings.timeZone, settings.shifts, at);
  const part: OpenStop = {
    id: stopId(unit, state, at),
    kind: stop.kind,
    start: at,
    firstStart: stop.firstStart,
    ...(stop.rulesFired ? { rulesFired: stop.rulesFired } : {}),
    until: shift ? shift.end : nextShiftStart(settings, at),
    revision: 0,
    signals: [...stop.signals],
    ...(shift ? { shift: shift.key } : {}),
    ...(stop.reasonCode === undefined ? {} : { reasonCode: stop.reasonCode }),
    ...(stop.order ? { order: stop.order } : {}),
    ...(stop.ending ? { ending: stop.ending } : {}),
  };
  state.stop = part;
  return part;
}

/**
 * `DT-{unit}-{start to the second}`, with `-2`, `-3`… for a stop that begins in the same second as the
 * one before it: distinct, and the same again when the same signals are replayed.
 */
function stopId(unit: WorkUnitConfig, state: UnitState, at: number): string {
  const base = `DT-${unit.id}-${compact(at)}`;
  const last = state.lastStopId;
  const taken = last === base ? 1 : last?.startsWith(`${base}-`) ? Number(last.slice(base.length + 1)) : 0;
  state.lastStopId = taken === 0 ? base : `${base}-${taken + 1}`;
  return state.lastStopId;
}

/** A stop that was never published gives its id back to the next stop in its second. */
function releaseId(state: UnitState, id: string): void {
  if (state.lastStopId !== id) return;
  const [, base, taken] = /^(.*Z)-(\d+)$/.exec(id) ?? [];
  if (base === undefined) delete state.lastStopId;
  else state.lastStopId = Number(taken) > 2 ? `${base}-${Number(taken) - 1}` : base;
}

function nextShiftStart(settings: EngineSettings, at: number): number | null {
  const next = shiftsBetween(settings.timeZone, settings.shifts, at, at + 2 * 86_400_000).find((w) => w.start > at);
  return next ? next.start : null;
}

/**
 * Whether what the open stop counts as is settled by `reached`: it has outlasted the noise filter and,
 * without a reason, the micro-stop threshold. Only then is a part closed at a shift's end while the
 * stop goes on; before, the split waits for the stop's end, so no part is judged by its own length.
 */
function settled(settings: EngineSettings, stop: OpenStop, reached: number): boolean {
  const lasted = (reached - stop.firstStart) / 1000;
  if (lasted < settings.ignoreBelowSeconds) return false;
  return stop.kind !== 'stop' || stop.reasonCode !== undefined || lasted > settings.microStopSeconds;
}

/**
 * Splits the open stop at each shift end before `upTo`: the part closes there and the stop goes on as
 * a new part with the same reason, rules fired and first start. `stopEnd` is where the whole stop
 * ended, once it has: it decides whether the parts are micro-stops.
 */
function splitAtShiftEnds(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  at: number,
  upTo: number,
  stopEnd: number | undefined,
): Derived[] {
  const documents: Derived[] = [];
  let part = state.stop!;
  while (part.until !== null && part.until < upTo) {
    const boundary = part.until;
    const fired = onStopDuration(settings, unit, state, part, boundary);
    documents.push(...publishPart(settings, unit, state, part, at, boundary, stopEnd), ...fired);
    part = beginPart(settings, unit, state, boundary, part);
    // The rest of a stop that has ended is published once, closed, by `closeStop`.
    if (stopEnd === undefined) documents.push(...publishPart(settings, unit, state, part, at, undefined, undefined));
  }
  return documents;
}

/** Ends the open stop at `end` (known at `at`): each part not yet closed closes, judged by the whole stop. */
function closeStop(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  at: number,
  end: number,
  provenance: Provenance | undefined,
): Derived[] {
  const stop = state.stop!;
  // A state saved before stop ids took suffixes knows the last id only from its open stop.
  state.lastStopId ??= stop.id;
  if (stop.revision === 0 && (end - stop.firstStart) / 1000 < settings.ignoreBelowSeconds) {
    // Shorter than the noise filter and never published: absorbed into the run around it.
    state.stop = undefined;
    releaseId(state, stop.id);
    return [];
  }
  const documents = splitAtShiftEnds(settings, unit, state, at, end, end);
  const last = state.stop!;
  const fired = onStopDuration(settings, unit, state, last, end);
  state.stop = undefined;
  if (provenance) last.signals.push(provenance);
  documents.push(...publishPart(settings, unit, state, last, at, end, end), ...fired);
  return documents;
}

/** A part's next revision; a stop's first (its first part's first revision) counts for the repeated-stop rules. */
function publishPart(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  part: OpenStop,
  at: number,
  end: number | undefined,
  stopEnd: number | undefined,
): Derived[] {
  const documents = [publishStop(settings, unit, part, at, end, stopEnd)];
  if (part.revision === 1 && part.start === part.firstStart)
    documents.push(...onReasonedStop(settings, unit, state, part, at));
  return documents;
}

/**
 * The next revision of a stop part's DowntimeEvent; `end` closes the part, and `stopEnd` is where the
 * whole stop ended, once it has.
 */
function publishStop(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  stop: OpenStop,
  at: number,
  end: number | undefined,
  stopEnd: number | undefined,
): Derived {
  stop.revision += 1;
  const reason = stop.reasonCode === undefined ? undefined : reasonOf(settings, unit, stop.reasonCode);
  const seconds = end === undefined ? undefined : (end - stop.start) / 1000;
  // A micro-stop is the whole stop, from its first start, ended within the threshold: each part is one.
  const micro =
    stop.kind === 'stop' &&
    stop.reasonCode === undefined &&
    stopEnd !== undefined &&
    (stopEnd - stop.firstStart) / 1000 <= settings.microStopSeconds;
  const stopKind = micro ? 'microStop' : stop.kind;
  const lossCategory = lossCategoryOf(settings, stop.kind, micro, reason);
  const document: Record<string, unknown> = {
    id: stop.id,
    description: describe(stopKind, stop, reason),
    equipmentId: unit.id,
    equipmentLevel: 'WorkUnit',
    startTime: iso(stop.start),
    ...(end === undefined ? {} : { endTime: iso(end), durationSeconds: seconds }),
    recordedAt: iso(at),
    reasonCode: stop.reasonCode ?? 'Unknown',
    ...(reason ? { reason: reason.name } : {}),
    lossCategory,
    stopKind,
    ...(stop.order
      ? {
          orderId: stop.order.orderId,
          ...(stop.order.operationId ? { operationId: stop.order.operationId } : {}),
          ...(stop.order.materialDefinitionId ? { materialDefinitionId: stop.order.materialDefinitionId } : {}),
        }
      : {}),
    shift: stop.shift ?? 'NoShift',
  };
  return {
    type: 'DowntimeEvent',
    objectKey: stop.id,
    version: stop.revision,
    occurredAt: iso(at),
    document,
    derivedFrom: [...stop.signals],
  };
}

/** The ISO 22400 loss a stop counts as: outside OEE, a micro-stop's speed (or delay) loss, or its reason's. */
export function lossCategoryOf(
  settings: Pick<EngineSettings, 'isoStrict'>,
  kind: StopKind,
  micro: boolean,
  reason: ReasonConfig | undefined,
): string {
  if (kind === 'noOrder' || kind === 'excluded') return 'excluded';
  if (micro) return settings.isoStrict ? 'availability' : 'performance';
  return reason?.category ?? 'availability';
}

function describe(stopKind: string, stop: OpenStop, reason: ReasonConfig | undefined): string {
  if (stopKind === 'microStop') return 'Micro-stop';
  if (stop.kind === 'external') return 'Starved or blocked';
  if (stop.kind === 'noOrder') return 'No order';
  if (stop.kind === 'excluded') return 'Not in production mode';
  return reason
    ? reason.name
    : stop.reasonCode === undefined
      ? 'Unplanned stop, reason unknown'
      : `Stop ${stop.reasonCode}`;
}

/**
 * Moves a unit's event time to `at`: counts are booked when a count period ends; a stop followed by a
 * run that has lasted the noise filter is closed where the run began; an open stop is published once
 * it has lasted the filter, and split at each shift end it crossed (one event per shift) once what it
 * counts as is settled.
 */
function advance(settings: EngineSettings, unit: WorkUnitConfig, state: UnitState, at: number): Derived[] {
  const documents: Derived[] = [];
  if (state.counts && at >= periodEnd(settings, state.counts.since)) {
    const booked = bookCounts(unit, state, periodEnd(settings, state.counts.since));
    if (booked) documents.push(booked);
  }
  const stop = state.stop;
  if (!stop) return documents;
  if (stop.ending && (at - stop.ending.at) / 1000 >= settings.ignoreBelowSeconds) {
    documents.push(...closeStop(settings, unit, state, at, stop.ending.at, stop.ending.signal));
    return documents;
  }
  // While the run after it is shorter than the filter, the stop has lasted until the run began.
  const reached = stop.ending?.at ?? at;
  if (settled(settings, stop, reached))
    documents.push(...splitAtShiftEnds(settings, unit, state, at, reached, undefined));
  const part = state.stop!;
  if (part.revision === 0 && (reached - part.firstStart) / 1000 >= settings.ignoreBelowSeconds)
    documents.push(...publishPart(settings, unit, state, part, at, undefined, undefined));
  documents.push(...onStopDuration(settings, unit, state, part, reached));
  return documents;
}

/**
 * A silent line's clock: its event time goes on at wall-clock speed from its last signal, less
 * `latenessSeconds` (the signals still on their way), so an open stop keeps growing, shift ends split
 * it, "persists" rules fire and counts are booked at their period end without a new signal.
 */
export function advanceClock(
  settings: EngineSettings & { latenessSeconds: number },
  unit: WorkUnitConfig,
  state: UnitState,
  now: number,
): Derived[] {
  if (!state.lastArrival || state.eventTime === 0) return [];
  const at = state.eventTime + (now - state.lastArrival) - settings.latenessSeconds * 1000;
  if (at <= state.eventTime) return [];
  const documents = advance(settings, unit, state, at);
  state.lastArrival += at - state.eventTime;
  state.eventTime = at;
  return documents;
}

/**
 * A change of the running order on a work unit (from an accepted ProductionOrder's state): the counts
 * of the order that ran are booked, and the unit's state is judged again (Idle with an order is a
 * stop, without one it is NoOrder).
 */
export function applyOrder(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  order: RunningOrder | undefined,
  at: number,
  provenance: Provenance,
): Derived[] {
  const documents = at >= state.eventTime ? advance(settings, unit, state, at) : [];
  const when = Math.max(at, state.eventTime);
  if (state.order?.orderId === order?.orderId) return documents;
  if (state.counts) {
    const booked = bookCounts(unit, state, when);
    if (booked) documents.push(booked);
  }
  if (order) state.order = order;
  else delete state.order;
  documents.push(...transition(settings, unit, state, when, provenance));
  return documents;
}
