/**
 * The state and mode maps the engine ships as data: PackML (ISA-TR88.00.02) and OPC UA Machinery
 * (OPC 40001-1 MachineryItemState, MachineryOperationMode), and how each state counts by default.
 */

/** How a machine state counts: producing, stopped, stopped by its neighbours, or waiting for work. */
export type StateClass = 'running' | 'stopped' | 'external' | 'idle';

/** What a mode means for the time model: producing, or one of the non-production modes. */
export type ModeClass = 'produce' | 'maintenance' | 'manual' | 'other';

export interface StateEntry {
  name: string;
  class: StateClass;
}

export interface StateMap {
  states: Record<string, StateEntry>;
  modes: Record<string, { name: string; class: ModeClass }>;
}

/**
 * PackML states 1–17 (ISA-TR88.00.02-2015, table 3). Execute produces; Suspended and Suspending wait
 * on upstream or downstream (starved/blocked, an external stop); Idle and Complete wait for work
 * (no order: outside planned busy time when no order runs); every other state, transitional ones
 * such as Stopping, Aborting and Holding included, is a stop.
 */
const PACKML_STATES: Record<string, StateEntry> = {
  '1': { name: 'Clearing', class: 'stopped' },
  '2': { name: 'Stopped', class: 'stopped' },
  '3': { name: 'Starting', class: 'stopped' },
  '4': { name: 'Idle', class: 'idle' },
  '5': { name: 'Suspended', class: 'external' },
  '6': { name: 'Execute', class: 'running' },
  '7': { name: 'Stopping', class: 'stopped' },
  '8': { name: 'Aborting', class: 'stopped' },
  '9': { name: 'Aborted', class: 'stopped' },
  '10': { name: 'Holding', class: 'stopped' },
  '11': { name: 'Held', class: 'stopped' },
  '12': { name: 'Unholding', class: 'stopped' },
  '13': { name: 'Suspending', class: 'external' },
  '14': { name: 'Unsuspending', class: 'external' },
  '15': { name: 'Resetting', class: 'stopped' },
  '16': { name: 'Completing', class: 'idle' },
  '17': { name: 'Complete', class: 'idle' },
};

/** PackML unit modes as commonly numbered by PackTags (1 Production; the others do not produce). */
const PACKML_MODES: StateMap['modes'] = {
  '1': { name: 'Production', class: 'produce' },
  '2': { name: 'Maintenance', class: 'maintenance' },
  '3': { name: 'Manual', class: 'manual' },
  '4': { name: 'Changeover', class: 'other' },
  '5': { name: 'Clean', class: 'other' },
  '6': { name: 'Setup', class: 'other' },
  '7': { name: 'EmptyOut', class: 'other' },
};

/** OPC UA Machinery: MachineryItemState and MachineryOperationMode enumerations. */
const MACHINERY_STATES: Record<string, StateEntry> = {
  '0': { name: 'NotAvailable', class: 'stopped' },
  '1': { name: 'OutOfService', class: 'stopped' },
  '2': { name: 'NotExecuting', class: 'idle' },
  '3': { name: 'Executing', class: 'running' },
};

const MACHINERY_MODES: StateMap['modes'] = {
  '0': { name: 'None', class: 'other' },
  '1': { name: 'Maintenance', class: 'maintenance' },
  '2': { name: 'Setup', class: 'other' },
  '3': { name: 'Processing', class: 'produce' },
};

export const STATE_MAPS = {
  packml: { states: PACKML_STATES, modes: PACKML_MODES },
  'opcua-machinery': { states: MACHINERY_STATES, modes: MACHINERY_MODES },
} satisfies Record<string, StateMap>;

export type StateMapName = keyof typeof STATE_MAPS;
export const STATE_MAP_NAMES = Object.keys(STATE_MAPS) as StateMapName[];

/** A state a value stands for; `Unknown` (a stop) for a code the map does not hold. */
export function stateOf(map: StateMap, value: unknown): StateEntry & { code: string; known: boolean } {
  const code = String(value);
  const entry = map.states[code];
  return entry ? { ...entry, code, known: true } : { name: 'Unknown', class: 'stopped', code, known: false };
}

export function modeOf(
  map: StateMap,
  value: unknown,
): { code: string; name: string; class: ModeClass; known: boolean } {
  const code = String(value);
  const entry = map.modes[code];
  return entry ? { ...entry, code, known: true } : { name: 'Unknown', class: 'other', code, known: false };
}
