/**
 * What the simulated MES does with its orders, in plant time: starts the next one once its planned
 * start is reached and WMS has staged every component for it, counts its output from the context
 * engine's confirmations of the case packer, makes a finished-goods lot of every full pallet, books
 * what the order produced at each shift's end, and completes it at its planned quantity with the
 * final booking, the last lot and the consumption of each component.
 */
import { log, type SystemSettings } from './common';
import {
  confirmationDocument,
  consumptionDocument,
  envelope,
  lotDocument,
  orderDocument,
  segmentOf,
  type Booking,
  type Job,
} from './mes-documents';
import { shiftAt } from './mes-shifts';
import { orderRef, type ConfirmationRow, type MesStore, type OrderRow } from './mes-store';
import { CASES_PER_PALLET, PRODUCT, WORK_UNITS, palletLot, plannedOrders } from './scenario';

/** The line's output: the case packer's count of cases. */
export const OUTPUT_UNIT = WORK_UNITS[WORK_UNITS.length - 1]!;

const FINISHED = new Set(['Completed', 'Closed', 'Cancelled', 'Aborted']);
/** How long MES waits, in wall time, between seeing an order at its quantity and completing it. */
const COMPLETION_DELAY_MS = 1000;

const iso = (ms: number) => new Date(ms).toISOString();
const sum = (rows: ConfirmationRow[], field: 'good' | 'scrap') => rows.reduce((total, row) => total + row[field], 0);

export interface MesFigures {
  system: 'mes';
  orders: Array<{
    orderId: string;
    plannedQuantity: number;
    state: string | null;
    startedAt: string | null;
    completedAt: string | null;
    good: number;
    scrap: number;
    byShift: Record<string, { good: number; scrap: number }>;
    lots: Array<{ id: string; quantity: number }>;
    consumption: Array<{ material: string; lot: string | null; quantity: number }>;
  }>;
}

export class MesExecution {
  /**
   * How long after a shift's end its booking waits for the engine's last confirmations of it: a
   * plant minute (the engine's count period), and at least 5 wall seconds of the hub's latency.
   */
  private readonly grace: number;
  /** What each order last waited for (logged when it changes, not on every look). */
  private readonly waiting = new Map<string, string>();

  /** When (wall ms) each order was first seen at its planned quantity. */
  private readonly completable = new Map<string, number>();

  constructor(
    private readonly settings: SystemSettings,
    private readonly store: MesStore,
  ) {
    this.grace = Math.max(60_000, settings.clock.speed * 5000);
  }

  /** Looks at the orders once at plant time `now`: what to start, count, book or complete. */
  evaluate(now: number): void {
    const orders = this.store.orders();
    for (const order of orders) if (order.state === 'Completed') this.bookLate(order);
    const running = orders.find((order) => order.state === 'Running');
    if (running) this.follow(running, now);
    else {
      // One order at a time, in the order planned: a later one waits for the one before it.
      const next = orders.find((order) => !FINISHED.has(order.state ?? ''));
      // …and never starts before the one before it completed (its completion is dated by its last count).
      const after = Math.max(0, ...orders.map((order) => (order.completed_at ? Date.parse(order.completed_at) : 0)));
      if (next && now > after) this.tryStart(next, now);
    }
  }

  private tryStart(order: OrderRow, now: number): void {
    if (order.planned_quantity <= 0) return this.wait(order, 'no planned quantity');
    if (order.planned_start_ms !== null && now < order.planned_start_ms)
      return this.wait(order, `planned start ${iso(order.planned_start_ms)}`);
    const missing = this.store
      .components(order.order_id)
      .filter((component) => !this.store.staging(order.order_id, component.material));
    if (missing.length > 0)
      return this.wait(order, `WMS to stage ${missing.map((component) => component.material).join(', ')}`);
    this.store.transaction(() => this.changeState(order, 'Running', now));
    this.waiting.delete(order.order_id);
  }

  private wait(order: OrderRow, reason: string): void {
    if (this.waiting.get(order.order_id) === reason) return;
    this.waiting.set(order.order_id, reason);
    log('mes', 'order waiting', { orderId: order.order_id, for: reason });
  }

  /** MES's state change of an order: its own version of the `state` field group, with the order as MES has it. */
  private changeState(order: OrderRow, state: 'Running' | 'Completed', at: number): void {
    const version = order.state_version + 1;
    const occurredAt = iso(at);
    this.store.setState(
      order.order_id,
      state,
      version,
      state === 'Running' ? 'started_at' : 'completed_at',
      occurredAt,
    );
    const job = JSON.parse(order.job) as Job;
    this.store.enqueue(
      `mes-ProductionOrder-${order.order_id}-v${version}`,
      envelope('ProductionOrder', order.order_id, version, occurredAt, orderDocument(job, state)),
    );
    log('mes', `order ${state}`, { orderId: order.order_id, version, occurredAt });
  }

  private follow(order: OrderRow, now: number): void {
    const output = this.store.confirmations(order.order_id, OUTPUT_UNIT);
    const good = sum(output, 'good');
    this.store.transaction(() => {
      let pallets = this.store.lots(order.order_id).length;
      while ((pallets + 1) * CASES_PER_PALLET <= good) {
        pallets += 1;
        this.postLot(order, pallets, CASES_PER_PALLET, now);
      }
      if (output.length > 0 && good >= order.planned_quantity) {
        // The line's other units report through other connectors (the filler over OPC UA), a moment
        // behind the case packer: MES confirms the completion a few wall seconds after it sees it, so
        // every count made before it has reached the hub first (the completion's time is the count's).
        const seen = this.completable.get(order.order_id) ?? Date.now();
        this.completable.set(order.order_id, seen);
        if (Date.now() - seen < COMPLETION_DELAY_MS) return;
        return this.complete(order, output, pallets);
      }
      const ended = this.store
        .confirmations(order.order_id, OUTPUT_UNIT, true)
        .filter((row) => row.shift_end_ms + this.grace <= now);
      for (const [shiftKey, rows] of byShift(ended)) this.book(order, shiftKey, rows);
    });
  }

  /**
   * Completes the order once it reached its planned quantity (the PLC stops there): the state change
   * just after the last confirmation's end, the bookings of what is not booked yet, the last
   * pallet's lot, and what each component's lot gave: its quantity per case times the cases made.
   */
  private complete(order: OrderRow, output: ConfirmationRow[], pallets: number): void {
    const at = Math.max(...output.map((row) => row.end_ms)) + 1000;
    const good = sum(output, 'good');
    const scrap = sum(output, 'scrap');
    this.changeState(order, 'Completed', at);
    const unbooked = this.store.confirmations(order.order_id, OUTPUT_UNIT, true);
    for (const [shiftKey, rows] of byShift(unbooked)) this.book(order, shiftKey, rows);
    const rest = good - pallets * CASES_PER_PALLET;
    if (rest > 0) this.postLot(order, pallets + 1, rest, at);
    const segmentResponseId = this.store.lastBooking(order.order_id)?.segment_id ?? order.operation;
    for (const component of this.store.components(order.order_id)) {
      const staged = this.store.staging(order.order_id, component.material);
      const lot = staged?.lot ?? component.lot ?? undefined;
      const quantity = decimal((Number(component.quantity) * (good + scrap)) / order.planned_quantity);
      const id = `CONS-${order.order_id}-${component.material}`;
      this.store.recordConsumption(id, order.order_id, component.material, lot ?? null, quantity, component.unit);
      const document = consumptionDocument({
        id,
        orderId: order.order_id,
        segmentResponseId,
        material: component.material,
        ...(lot ? { lot } : {}),
        quantity,
        unit: component.unit,
        ...(staged?.to_location ? { storageLocation: staged.to_location } : {}),
        consumedAt: iso(at),
      });
      this.store.enqueue(`mes-MaterialConsumption-${id}-v1`, envelope('MaterialConsumption', id, 1, iso(at), document));
    }
    log('mes', 'order booked', {
      orderId: order.order_id,
      good,
      scrap,
      pallets: this.store.lots(order.order_id).length,
    });
  }

  /** Confirmations of an order that came after its completion are booked as they come. */
  private bookLate(order: OrderRow): void {
    const late = this.store.confirmations(order.order_id, OUTPUT_UNIT, true);
    if (late.length === 0) return;
    this.store.transaction(() => {
      for (const [shiftKey, rows] of byShift(late)) this.book(order, shiftKey, rows);
    });
    log('mes', 'confirmations after completion booked', { orderId: order.order_id, ids: late.map((row) => row.id) });
  }

  /**
   * MES's ProductionConfirmation of what the order produced in a shift, `MES-<order>-<shift>`; a
   * later booking for a shift already booked (a confirmation that came late) gets `-2`, `-3`…
   */
  private book(order: OrderRow, shiftKey: string, rows: ConfirmationRow[]): void {
    let id = `MES-${order.order_id}-${shiftKey}`;
    for (let n = 2; this.store.bookingExists(id); n += 1) id = `MES-${order.order_id}-${shiftKey}-${n}`;
    const booking: Booking = {
      id,
      orderId: order.order_id,
      operation: order.operation,
      material: order.material || PRODUCT.id,
      unit: PRODUCT.unit,
      good: sum(rows, 'good'),
      scrap: sum(rows, 'scrap'),
      start: iso(Math.min(...rows.map((row) => row.start_ms))),
      end: iso(Math.max(...rows.map((row) => row.end_ms))),
    };
    const segmentId = segmentOf(booking);
    this.store.recordBooking(
      { id, orderId: order.order_id, shiftKey, segmentId, good: booking.good, scrap: booking.scrap },
      rows.map((row) => row.id),
    );
    this.store.enqueue(
      `mes-ProductionConfirmation-${id}-v1`,
      envelope('ProductionConfirmation', id, 1, booking.end, confirmationDocument(booking)),
    );
    log('mes', 'shift booked', { id, good: booking.good, scrap: booking.scrap });
  }

  private postLot(order: OrderRow, n: number, quantity: number, at: number): void {
    const id = palletLot(order.order_id, n);
    const fromLots = this.store
      .components(order.order_id)
      .map((component) => this.store.staging(order.order_id, component.material)?.lot ?? component.lot)
      .filter((lot): lot is string => typeof lot === 'string' && lot !== '');
    this.store.recordLot(id, order.order_id, n, quantity);
    const document = lotDocument({
      id,
      orderId: order.order_id,
      n,
      material: order.material || PRODUCT.id,
      unit: PRODUCT.unit,
      quantity,
      fromLots: [...new Set(fromLots)],
    });
    this.store.enqueue(`mes-MaterialLot-${id}-v1`, envelope('MaterialLot', id, 1, iso(at), document));
    log('mes', 'pallet lot', { id, quantity });
  }

  figures(): MesFigures {
    return {
      system: 'mes',
      orders: this.store.orders().map((order) => {
        const output = this.store.confirmations(order.order_id, OUTPUT_UNIT);
        const shifts: Record<string, { good: number; scrap: number }> = {};
        for (const row of output) {
          const shift = (shifts[row.shift_key] ??= { good: 0, scrap: 0 });
          shift.good += row.good;
          shift.scrap += row.scrap;
        }
        return {
          orderId: order.order_id,
          plannedQuantity: order.planned_quantity,
          state: order.state,
          startedAt: order.started_at,
          completedAt: order.completed_at,
          good: sum(output, 'good') + order.good_adjust,
          scrap: sum(output, 'scrap'),
          byShift: shifts,
          lots: this.store.lots(order.order_id).map((lot) => ({ id: lot.id, quantity: lot.quantity })),
          consumption: this.store
            .consumptions(order.order_id)
            .map((row) => ({ material: row.material, lot: row.lot, quantity: Number(row.quantity) })),
        };
      }),
    };
  }

  /** Adds one to order A's good figure (a planted discrepancy; MES's bookings stay as they are). */
  corrupt(): { orderId: string; field: 'good'; from: number; to: number } | undefined {
    const planned = plannedOrders(this.settings.clock.hours)[0]!;
    const order = this.store.orders().find((row) => orderRef(row.order_id) === orderRef(planned.orderId));
    if (!order) return undefined;
    const before = this.figures().orders.find((row) => row.orderId === order.order_id)!.good;
    this.store.addGoodAdjust(order.order_id, 1);
    return { orderId: order.order_id, field: 'good', from: before, to: before + 1 };
  }
}

/** Confirmations grouped by the shift they fall in, in time order. */
function byShift(rows: ConfirmationRow[]): Map<string, ConfirmationRow[]> {
  const groups = new Map<string, ConfirmationRow[]>();
  for (const row of rows) groups.set(row.shift_key, [...(groups.get(row.shift_key) ?? []), row]);
  return groups;
}

/** A component quantity as a decimal string (whole pieces here; 3 decimals at most otherwise). */
function decimal(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/\.?0+$/, '');
}

/** The confirmation row of an engine ProductionConfirmation, or why it is not one MES counts. */
export function confirmationRow(
  document: Record<string, unknown>,
): (ConfirmationRow & { order_id: string; equipment_id: string }) | string {
  const doc = document as {
    id?: string;
    orderId?: string;
    startTime?: string;
    endTime?: string;
    hierarchyScope?: { equipmentId?: string };
    segments?: Array<{ materials?: Array<{ use?: string; disposition?: string; quantity?: { value?: string } }> }>;
  };
  const start = Date.parse(doc.startTime ?? '');
  const end = Date.parse(doc.endTime ?? '');
  const equipment = doc.hierarchyScope?.equipmentId;
  if (!doc.id || !doc.orderId || !equipment || !Number.isFinite(start) || !Number.isFinite(end))
    return 'no id, orderId, hierarchyScope.equipmentId, startTime or endTime';
  const produced = (doc.segments ?? []).flatMap((segment) => segment.materials ?? []);
  const total = (disposition: string) =>
    produced
      .filter((material) => /Produced$/.test(material.use ?? '') && material.disposition === disposition)
      .reduce((sum, material) => sum + Number(material.quantity?.value ?? 0), 0);
  // The engine's period [start, end) is in the shift its end closes, as the hub's OEE books it.
  const shift = shiftAt(end - 1);
  return {
    id: doc.id,
    order_id: doc.orderId,
    equipment_id: equipment,
    start_ms: start,
    end_ms: end,
    good: total('Good'),
    scrap: total('Scrap'),
    shift_key: shift.key,
    shift_end_ms: shift.end,
  };
}
