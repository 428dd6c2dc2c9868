/**
 * Maintenance from recurring faults: rules such as "3 stops with the same reason within 30 minutes"
 * or "a stop that lasts 10 minutes" raise one MaintenanceRequest per work unit, rule and reason; while
 * it is open (until the CMMS completes a work order for it) further occurrences are attached to it.
 */
import type { MaintenanceRule, WorkUnitConfig } from './config';
import type { Derived, EngineSettings, OpenStop, UnitState } from './engine';
import { compact, iso } from './time-format';

export interface OpenRequest {
  id: string;
  rule: string;
  reasonCode: string;
  raisedAt: number;
  stops: string[];
  revision: number;
}

/** Work order states after which the request they answer is closed. */
const CLOSING = new Set(['Completed', 'Closed', 'Cancelled', 'Aborted']);

function rulesFor(settings: EngineSettings, unit: WorkUnitConfig, kind: 'repeated' | 'persists'): MaintenanceRule[] {
  return settings.maintenanceRules.filter(
    (rule) =>
      rule[kind] !== undefined && (rule.equipmentClass === undefined || rule.equipmentClass === unit.equipmentClass),
  );
}

/** A stop got its reason (as it began, or later during it): counts towards the repeated-stop rules. */
export function onReasonedStop(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  stop: OpenStop,
  at: number,
): Derived[] {
  const documents: Derived[] = [];
  const reasonCode = stop.reasonCode;
  if (stop.kind !== 'stop' || reasonCode === undefined) return documents;
  for (const rule of rulesFor(settings, unit, 'repeated')) {
    const key = `${rule.id}:${reasonCode}`;
    const open = state.requests?.[key];
    if (open) {
      if (!open.stops.includes(stop.id)) documents.push(attach(settings, unit, open, stop.id, at, rule));
      continue;
    }
    const window = rule.repeated!.withinMinutes * 60_000;
    state.occurrences ??= {};
    const recent = (state.occurrences[key] ?? []).filter(
      (seen) => seen.start > stop.start - window && seen.stop !== stop.id,
    );
    recent.push({ stop: stop.id, start: stop.start });
    state.occurrences[key] = recent;
    if (recent.length >= rule.repeated!.stops) {
      delete state.occurrences[key];
      documents.push(
        raise(
          settings,
          unit,
          state,
          rule,
          key,
          reasonCode,
          recent.map((seen) => seen.stop),
          at,
        ),
      );
    }
  }
  return documents;
}

/** An open stop has lasted until `now`: the persists rules fire once per stop. */
export function onStopDuration(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  stop: OpenStop,
  now: number,
): Derived[] {
  const documents: Derived[] = [];
  if (stop.kind !== 'stop') return documents;
  for (const rule of rulesFor(settings, unit, 'persists')) {
    const firedAt = stop.firstStart + rule.persists!.minutes * 60_000;
    if (now < firedAt || stop.rulesFired?.includes(rule.id)) continue;
    stop.rulesFired = [...(stop.rulesFired ?? []), rule.id];
    const reasonCode = stop.reasonCode ?? 'Unknown';
    const key = `${rule.id}:${reasonCode}`;
    const open = state.requests?.[key];
    documents.push(
      open
        ? attach(settings, unit, open, stop.id, firedAt, rule)
        : raise(settings, unit, state, rule, key, reasonCode, [stop.id], firedAt),
    );
  }
  return documents;
}

/** A work order of the CMMS for one of the unit's requests changed state: a completed one closes it. */
export function onWorkOrder(state: UnitState, requestId: string, workOrderState: string | undefined): boolean {
  if (!workOrderState || !CLOSING.has(workOrderState) || !state.requests) return false;
  const entry = Object.entries(state.requests).find(([, request]) => request.id === requestId);
  if (!entry) return false;
  delete state.requests[entry[0]];
  return true;
}

function raise(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  state: UnitState,
  rule: MaintenanceRule,
  key: string,
  reasonCode: string,
  stops: string[],
  at: number,
): Derived {
  const request: OpenRequest = {
    id: `MR-${unit.id}-${compact(at)}-${rule.id}`,
    rule: rule.id,
    reasonCode,
    raisedAt: at,
    stops,
    revision: 0,
  };
  state.requests ??= {};
  state.requests[key] = request;
  return publish(settings, unit, request, at, rule);
}

function attach(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  request: OpenRequest,
  stop: string,
  at: number,
  rule: MaintenanceRule,
): Derived {
  request.stops.push(stop);
  return publish(settings, unit, request, at, rule);
}

function publish(
  settings: EngineSettings,
  unit: WorkUnitConfig,
  request: OpenRequest,
  at: number,
  rule: MaintenanceRule,
): Derived {
  request.revision += 1;
  const reason = settings.reasons.find((r) => r.code === request.reasonCode)?.name ?? request.reasonCode;
  const why = rule.repeated
    ? `${request.stops.length} stops "${reason}" (first ${rule.repeated.stops} within ${rule.repeated.withinMinutes} min)`
    : `a stop "${reason}" lasting over ${rule.persists!.minutes} min`;
  return {
    type: 'MaintenanceRequest',
    objectKey: request.id,
    version: request.revision,
    occurredAt: iso(at),
    derivedFrom: [],
    document: {
      id: request.id,
      description: `${unit.id}: ${why} (rule ${rule.id})`,
      equipmentId: unit.id,
      equipmentLevel: 'WorkUnit',
      state: 'Released',
      ...(rule.priority === undefined ? {} : { priority: rule.priority }),
      requestedAt: iso(request.raisedAt),
      reasonCode: request.reasonCode,
      requestedBy: rule.id,
      downtimeEventIds: [...request.stops],
    },
  };
}
