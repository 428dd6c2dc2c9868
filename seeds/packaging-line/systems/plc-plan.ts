/**
 * The PLC line's share of the shift plan (scenario.ts EVENTS): its planned faults as chains of stops
 * in plant time, the edge node's restart, and where the filler's good counter starts so that it rolls
 * over at the planned moment whatever the length of the run.
 */
import type { PlantClock } from './common';
import { EVENTS, WORK_UNITS, atFraction, plannedOrders } from './scenario';

export type UnitId = (typeof WORK_UNITS)[number];

/** The line's rates: the filler at 92 % of its ideal 0.5 s a bottle; the others at most at their ideal. */
export const RATES = {
  /** Bottles a plant second the filler fills while it executes. */
  fillerBottlesPerSecond: 0.92 / 0.5,
  /** Bottles a plant second the capper and the labeler can take at most (their ideal cycle, 0.5 s). */
  bottlesPerSecondMax: 1 / 0.5,
  /** Cases a plant second the case packer can make at most (its ideal cycle, 6 s). */
  casesPerSecondMax: 1 / 6,
} as const;

/** The share of what each unit handles that it rejects (bottles; cases at the case packer). */
export const REJECT_RATES: Record<UnitId, number> = {
  'FILLER-01': 0.005,
  'CAPPER-01': 0.002,
  'LABELER-01': 0.005,
  'CASEPACKER-01': 0.003,
};

/** One planned stop of a unit: with a reason code (a fault) or without (a micro-stop). */
export interface PlannedStop {
  unit: UnitId;
  cause: string;
  reasonCode: number | null;
  durationMs: number;
}

/**
 * Stops that belong together: the first is due at `firstAt`, each next one `gapsMs[i]` after the
 * actual start of the one before it. A stop comes only while an order runs (and the unit is not
 * already stopped), so one that falls outside is moved to the next running time, and the rest of its
 * chain with it: the cap feed jams stay within 30 minutes of each other.
 */
export interface StopChain {
  name: string;
  firstAt: number;
  stops: PlannedStop[];
  gapsMs: number[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The longest micro-stop the plan makes: under the hub's 120 s micro-stop limit. */
const MICRO_STOP_MAX_MS = 110 * SECOND;

/**
 * Stops the hub's OPC UA connector samples the filler too rarely to see are lost to it (by default it
 * samples every 250 wall ms: 60 plant seconds at speed 240), so a micro-stop lasts at least this
 * many wall milliseconds.
 */
const MICRO_STOP_MIN_WALL_MS = 300;

/** The PLC line's planned stops for the run on `clock`. */
export function stopPlan(clock: PlantClock): StopChain[] {
  const capper: StopChain = {
    name: 'cap-feed-jam',
    firstAt: atFraction(clock, EVENTS.capperFault),
    // Four jams of 60–200 s starting within 20 minutes: three within 30 minutes raise one request.
    stops: [90, 140, 65, 185].map((seconds) => ({
      unit: 'CAPPER-01',
      cause: 'cap-feed-jam',
      reasonCode: 17,
      durationMs: seconds * SECOND,
    })),
    gapsMs: [6 * MINUTE, 7 * MINUTE, 7 * MINUTE],
  };
  const labeler: StopChain = {
    name: 'label-web-break',
    firstAt: atFraction(clock, EVENTS.labelerBreak),
    stops: [{ unit: 'LABELER-01', cause: 'label-web-break', reasonCode: 21, durationMs: 8 * MINUTE }],
    gapsMs: [],
  };
  const microSeconds = [75, 90, 80, 85];
  const micro = EVENTS.microStops.map((fraction, index): StopChain => ({
    name: `micro-stop-${index + 1}`,
    firstAt: atFraction(clock, fraction),
    stops: [
      {
        unit: 'FILLER-01',
        cause: 'micro-stop',
        reasonCode: null,
        durationMs: microStopMs(clock, (microSeconds[index % microSeconds.length] ?? 60) * SECOND),
      },
    ],
    gapsMs: [],
  }));
  return [capper, labeler, ...micro];
}

/** A micro-stop's length: as planned, but long enough in wall time to be sampled, and still micro. */
export function microStopMs(clock: PlantClock, plannedMs: number): number {
  return Math.min(MICRO_STOP_MAX_MS, Math.max(plannedMs, MICRO_STOP_MIN_WALL_MS * clock.speed));
}

/** The edge node's restart: when, how long it is away, and how long its units then take to run again. */
export function restartPlan(clock: PlantClock): { at: number; downMs: number; bootMs: number } {
  return { at: atFraction(clock, EVENTS.plcRestart), downMs: 30 * SECOND, bootMs: 15 * SECOND };
}

/**
 * Where the filler's 16-bit good counter starts: as many bottles short of 65 536 as it fills good
 * between the first order's planned start and EVENTS.fillerRollover (about 65 000 in an 8-hour run).
 */
export function fillerCounterStart(clock: PlantClock): number {
  const first = plannedOrders(clock.hours)[0];
  const from = first ? atFraction(clock, first.start) : clock.plantStart;
  const seconds = Math.max(0, (atFraction(clock, EVENTS.fillerRollover) - from) / SECOND);
  const good = Math.round(seconds * RATES.fillerBottlesPerSecond * (1 - REJECT_RATES['FILLER-01']));
  return 65_536 - Math.min(65_535, Math.max(1, good));
}
