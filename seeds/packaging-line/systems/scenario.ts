/**
 * The shift the demo plant plays, shared by every simulated system so they agree on the plan
 * without telling each other anything outside the hub: the product, its bill of materials and the
 * component lots in the warehouse, the two production orders, and when each planned plant event
 * happens — as fractions of the run, so `--hours` shortens or lengthens the whole shift.
 *
 * What each system does with it is its own: ERP releases the orders, WMS stages the lots, MES
 * starts and completes the orders, the PLC line runs them and has its faults. The figures they end
 * with come from what actually happened (what the hub delivered to them), not from this plan.
 */
import type { PlantClock } from './common';

/** The finished good: a case of 24 bottles of still water, 0.5 l PET. */
export const PRODUCT = { id: 'FG-500', description: 'Still water 0.5 l PET, case of 24', unit: 'CS' } as const;

/** Bottles per case: the filler, capper and labeler count bottles, the case packer counts cases. */
export const BOTTLES_PER_CASE = 24;

/** The bill of materials per case, and the lot of each component the warehouse holds for the line. */
export const BOM = [
  { material: 'BOT-500', description: 'PET bottle 0.5 l', perCase: 24, unit: 'EA', lot: 'LOT-BOT-2611-07' },
  { material: 'CAP-28', description: 'Screw cap 28 mm', perCase: 24, unit: 'EA', lot: 'LOT-CAP-2611-19' },
  { material: 'LBL-500', description: 'Wrap label 0.5 l', perCase: 24, unit: 'EA', lot: 'LOT-LBL-2611-03' },
  { material: 'CASE-24', description: 'Shrink-wrapped case tray', perCase: 1, unit: 'EA', lot: 'LOT-CASE-2611-11' },
] as const;

/** The line and its work units, in flow order (the case packer's count is the line's output). */
export const LINE = 'PACK-L1';
export const WORK_UNITS = ['FILLER-01', 'CAPPER-01', 'LABELER-01', 'CASEPACKER-01'] as const;

/** Ideal rate of the line (the filler's 0.5 s a bottle): cases per plant hour. */
export const IDEAL_CASES_PER_HOUR = 3600 / 0.5 / BOTTLES_PER_CASE;

export interface PlannedOrder {
  /**
   * The order's key at the hub: SAP's order number without its leading zeros (the LOIPRO01 mapping
   * strips them; ERP pads it to the IDoc's 12-digit AUFNR, and sends it so in B2MML).
   */
  orderId: string;
  /** How ERP sends it: an SAP LOIPRO01 IDoc, or a B2MML ProcessOperationsSchedule. */
  format: 'idoc' | 'b2mml';
  /** Cases planned (the quantity of version 1; ERP raises order A's in version 2). */
  quantity: number;
  /** When MES means to start it and when it must be done, as fractions of the run. */
  start: number;
  due: number;
}

/**
 * The orders, sized to the run: each is planned at 65 % of what the line makes at its ideal rate in
 * its window, so with its stops (which last as long in a short run as in a long one) it finishes
 * inside it, or soon after (the PLC stops at the planned quantity, MES completes the order then).
 */
export function plannedOrders(hours: number): PlannedOrder[] {
  const cases = (from: number, to: number) => Math.floor(IDEAL_CASES_PER_HOUR * hours * (to - from) * 0.65);
  return [
    { orderId: '4711001', format: 'idoc', quantity: cases(0.05, 0.45), start: 0.05, due: 0.45 },
    { orderId: '4711002', format: 'b2mml', quantity: cases(0.55, 0.95), start: 0.55, due: 0.95 },
  ];
}

/** Order A's version 2 raises its quantity by this many cases (ERP plans 5 % more). */
export function orderAIncrease(order: PlannedOrder): number {
  return Math.floor(order.quantity * 0.05);
}

/** Cases per finished-goods pallet: MES makes one MaterialLot per full pallet, and one of the rest at completion. */
export const CASES_PER_PALLET = 60;

/** The finished-goods lot id of an order's n-th pallet (1-based): `FG-<last 7 digits of the order>-<nn>`. */
export const palletLot = (orderId: string, n: number) => `FG-${orderId.slice(-7)}-${String(n).padStart(2, '0')}`;

/** The order a finished-goods lot belongs to, from its id (the inverse of palletLot). */
export function orderOfLot(lot: string, orders: readonly PlannedOrder[]): string | undefined {
  const match = /^FG-(\d{7})-\d{2}$/.exec(lot);
  return match ? orders.find((order) => order.orderId.endsWith(match[1]!))?.orderId : undefined;
}

/**
 * The planned plant events, as fractions of the run (each system that takes part reads its own):
 * - `orderAChange`: ERP sends order A's version 2 (quantity up).
 * - `staleResend`: ERP's interface re-sends order A's version 1, late (the hub finds it stale).
 * - `duplicateResend`: ERP's interface re-sends order A's version 2 unchanged (a duplicate).
 * - `nonOwnerChange`: QMS tries to change order A's quantity (ERP owns the plan: rejected).
 * - `capperFault`: the capper's recurring cap-feed jam (reason 17), 4 short stops within 25 plant minutes.
 * - `labelerBreak`: a label web break (reason 21) on the labeler, 8 plant minutes.
 * - `microStops`: short stops without a reason (under the 120 s micro-stop limit) on the filler.
 * - `fillerRollover`: the filler's good counter starts near 65 536 and rolls over early in the run.
 * - `plcRestart`: the edge node of the capper, labeler and case packer restarts (counters from 0).
 * - `cmmsOutage`: the CMMS answers 503 for CMMS_OUTAGE_WALL_SECONDS (the hub retries, then delivers).
 * - `poisonResult`: QMS sends a result its mapping cannot take (a dead letter until the mapping is fixed).
 * - `failingCheck`: the second lot of order A fails its cap-torque check (QMS opens a deviation).
 */
export const EVENTS = {
  orderAChange: 0.1,
  staleResend: 0.12,
  duplicateResend: 0.14,
  nonOwnerChange: 0.16,
  capperFault: 0.2,
  labelerBreak: 0.33,
  microStops: [0.08, 0.28, 0.62, 0.8],
  fillerRollover: 0.06,
  plcRestart: 0.7,
  cmmsOutage: 0.19,
  poisonResult: 0.5,
  failingCheck: 2,
} as const;

/** How long the CMMS is down for the outage, in wall seconds (the route retries longer). */
export const CMMS_OUTAGE_WALL_SECONDS = 8;

/** Plant time (epoch ms) of a fraction of the run. */
export const atFraction = (clock: PlantClock, fraction: number) =>
  clock.plantStart + fraction * clock.hours * 3_600_000;

/** The shift the run starts in: the seed's shifts are early 06:00, late 14:00, night 22:00 (Europe/Berlin). */
export const SHIFT_STARTS = ['06:00', '14:00', '22:00'] as const;
