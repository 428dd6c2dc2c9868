/**
 * OEE by ISO 22400-2 from a work unit's stops and quantities over a window: the time elements (POT,
 * PDOT, PBT, APT, ADET, ADOT), the KPIs and the losses behind them. Pure: the caller reads the stops
 * (accepted DowntimeEvents), quantities (accepted ProductionConfirmations) and planned downtime.
 */
import type { ShiftConfig } from './config';
import { shiftsBetween } from './shifts';

export interface StopRecord {
  start: number;
  /** null while the stop is still open. */
  end: number | null;
  stopKind: string;
  lossCategory: string;
  reasonCode: string;
  reason?: string;
}

export interface OeeInput {
  from: number;
  to: number;
  /** Open stops end here (or at `to`, whichever comes first). */
  now: number;
  timeZone: string;
  shifts: ShiftConfig[];
  /** The unit's planned downtime from the calendar: outside planned busy time, like breaks. */
  plannedDowntime?: Array<{ start: number; end: number }>;
  /** Only this time counts (an order's runs on the unit); without it, all of [from, to). */
  within?: Array<{ start: number; end: number }>;
  stops: StopRecord[];
  good: number;
  scrap: number;
  pruSeconds: number;
  microStopSeconds: number;
  isoStrict: boolean;
}

export interface Loss {
  kind: 'downtime' | 'microStop' | 'scrap' | 'indeterminate';
  reasonCode?: string;
  reason?: string;
  count: number;
  seconds: number;
  quantity?: number;
}

export interface OeeFigures {
  timeElements: { POT: number; PDOT: number; PBT: number; APT: number; ADET: number; ADOT: number };
  quantities: { PQ: number; GQ: number; SQ: number };
  PRU: number;
  kpis: { availability: number | null; effectiveness: number | null; quality: number | null; oee: number | null };
  losses: Loss[];
}

type Span = [number, number];

/** The spans in order, those that overlap or touch merged into one. */
function union(spans: Span[]): Span[] {
  const merged: Span[] = [];
  for (const [a, b] of spans.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** The time in both of two merged lists, in one pass over each. */
function intersect(left: Span[], right: Span[]): Span[] {
  const both: Span[] = [];
  for (let i = 0, j = 0; i < left.length && j < right.length;) {
    const [a, b] = left[i]!;
    const [c, d] = right[j]!;
    if (Math.min(b, d) > Math.max(a, c)) both.push([Math.max(a, c), Math.min(b, d)]);
    if (b < d) i += 1;
    else j += 1;
  }
  return both;
}

/** The time in `left` and not in `right` (merged lists). */
function subtract(left: Span[], right: Span[]): Span[] {
  return left.flatMap(([a, b]) => {
    const rest: Span[] = [];
    let cursor = a;
    for (const [c, d] of right) {
      if (d <= cursor || c >= b) continue;
      if (c > cursor) rest.push([cursor, c]);
      cursor = Math.max(cursor, d);
    }
    if (cursor < b) rest.push([cursor, b]);
    return rest;
  });
}

const total = (spans: Span[]) => spans.reduce((sum, [a, b]) => sum + b - a, 0);
const spansOf = (windows: Array<{ start: number; end: number }>) => union(windows.map((w): Span => [w.start, w.end]));

/**
 * Planned operation time inside [from, to) (and `within`): the shifts' time, less the pauses in it —
 * the shifts' breaks and the planned downtime, merged, so time that is both counts once.
 */
function planned(input: OeeInput): { shifts: Span[]; work: Span[]; pauses: Span[] } {
  let window: Span[] = [[input.from, input.to]];
  if (input.within) window = intersect(window, spansOf(input.within));
  const windows = shiftsBetween(input.timeZone, input.shifts, input.from, input.to);
  const shifts = input.shifts.length === 0 ? window : intersect(spansOf(windows), window);
  const pauses = intersect(
    spansOf([...windows.flatMap((shift) => shift.breaks), ...(input.plannedDowntime ?? [])]),
    shifts,
  );
  return { shifts, work: subtract(shifts, pauses), pauses };
}

function overlap(spans: Span[], [start, end]: Span): number {
  return spans.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, end) - Math.max(a, start)), 0);
}

const seconds = (ms: number) => Math.round(ms) / 1000;
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** The figures for one work unit over [from, to). */
export function computeOee(input: OeeInput): OeeFigures {
  const { shifts, work, pauses } = planned(input);
  const pot = total(shifts);
  let pdot = total(pauses);
  let adot = 0;
  let adet = 0;
  let indeterminate = 0;
  const losses = new Map<string, Loss>();
  const lossOf = (key: string, loss: Omit<Loss, 'count' | 'seconds'>): Loss => {
    let found = losses.get(key);
    if (!found) losses.set(key, (found = { ...loss, count: 0, seconds: 0 }));
    return found;
  };
  for (const stop of input.stops) {
    const open = stop.end === null;
    const end = open ? Math.min(input.now, input.to) : stop.end!;
    const inside = overlap(work, [stop.start, end]);
    if (inside <= 0) continue;
    if (stop.lossCategory === 'excluded') {
      pdot += inside;
      continue;
    }
    const unclassified = stop.reasonCode === 'Unknown' && stop.stopKind === 'stop';
    if (open && unclassified && (end - stop.start) / 1000 <= input.microStopSeconds) {
      // Still below the micro-stop threshold: not yet a micro-stop nor a stop, and never guessed.
      indeterminate += inside;
      const loss = lossOf('indeterminate', { kind: 'indeterminate' });
      loss.count += 1;
      loss.seconds += seconds(inside);
      continue;
    }
    if (stop.stopKind === 'microStop') {
      if (input.isoStrict) adet += inside;
      const loss = lossOf('microStop', { kind: 'microStop' });
      loss.count += 1;
      loss.seconds += seconds(inside);
      continue;
    }
    adot += inside;
    const loss = lossOf(`downtime-${stop.reasonCode}`, {
      kind: 'downtime',
      reasonCode: stop.reasonCode,
      ...(stop.reason ? { reason: stop.reason } : {}),
    });
    loss.count += 1;
    loss.seconds += seconds(inside);
  }
  const pbt = pot - pdot;
  const apt = pbt - adot - adet - indeterminate;
  const pq = input.good + input.scrap;
  if (input.scrap > 0) losses.set('scrap', { kind: 'scrap', count: 1, seconds: 0, quantity: input.scrap });
  const availability = ratio(apt, pbt);
  const effectiveness = ratio(input.pruSeconds * pq, apt / 1000);
  const quality = ratio(input.good, pq);
  const oee =
    availability === null || effectiveness === null || quality === null ? null : availability * effectiveness * quality;
  return {
    timeElements: {
      POT: seconds(pot),
      PDOT: seconds(pdot),
      PBT: seconds(pbt),
      APT: seconds(apt),
      ADET: seconds(adet),
      ADOT: seconds(adot),
    },
    quantities: { PQ: pq, GQ: input.good, SQ: input.scrap },
    PRU: input.pruSeconds,
    kpis: { availability, effectiveness, quality, oee },
    losses: [...losses.values()],
  };
}
