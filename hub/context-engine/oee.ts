/**
 * OEE by ISO 22400-2 from a work unit's stops and quantities over a window: the time elements (POT,
 * PDOT, PBT, APT, ADET, ADOT), the KPIs and the losses behind them. Pure: the caller reads the stops
 * (accepted DowntimeEvents) and quantities (accepted ProductionConfirmations) from the store.
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

/** Planned operation spans (shifts less breaks) and break spans inside [from, to). */
function planned(input: OeeInput): { work: Span[]; breaks: Span[] } {
  const { from, to } = input;
  if (input.shifts.length === 0) return { work: [[from, to]], breaks: [] };
  const work: Span[] = [];
  const breaks: Span[] = [];
  for (const shift of shiftsBetween(input.timeZone, input.shifts, from, to)) {
    let cursor = Math.max(shift.start, from);
    const end = Math.min(shift.end, to);
    for (const pause of [...shift.breaks].sort((a, b) => a.start - b.start)) {
      const start = Math.max(pause.start, cursor);
      const stop = Math.min(pause.end, end);
      if (stop <= start) continue;
      work.push([cursor, start]);
      breaks.push([start, stop]);
      cursor = stop;
    }
    if (cursor < end) work.push([cursor, end]);
  }
  return { work: work.filter(([a, b]) => b > a), breaks };
}

function overlap(spans: Span[], [start, end]: Span): number {
  return spans.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, end) - Math.max(a, start)), 0);
}

const seconds = (ms: number) => Math.round(ms) / 1000;
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** The figures for one work unit over [from, to). */
export function computeOee(input: OeeInput): OeeFigures {
  const { work, breaks } = planned(input);
  const pot = work.reduce((sum, [a, b]) => sum + b - a, 0) + breaks.reduce((sum, [a, b]) => sum + b - a, 0);
  let pdot = breaks.reduce((sum, [a, b]) => sum + b - a, 0);
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
