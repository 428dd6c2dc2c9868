/**
 * The simulated MES's own store (SQLite): its orders (from the hub's jobs) with its own state and
 * the BOM, WMS's stagings, the context engine's confirmations, its bookings, lots and consumptions,
 * the hub deliveries it has taken (by Idempotency-Key) and an outbox of what it sends the hub, so a
 * state change and the documents it makes commit together and go out in order.
 */
import type Database from 'better-sqlite3';
import { takeOnce } from './common';
import type { Job } from './mes-documents';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY,
  job TEXT NOT NULL,
  job_revision INTEGER,
  operation TEXT NOT NULL,
  material TEXT NOT NULL,
  planned_quantity INTEGER NOT NULL,
  planned_start_ms INTEGER,
  state TEXT,
  state_version INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  completed_at TEXT,
  good_adjust INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS components (
  order_id TEXT NOT NULL,
  material TEXT NOT NULL,
  quantity TEXT NOT NULL,
  unit TEXT NOT NULL,
  lot TEXT,
  PRIMARY KEY (order_id, material)
);
CREATE TABLE IF NOT EXISTS inbox (
  idempotency_key TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS movements (
  id TEXT PRIMARY KEY,
  order_ref TEXT,
  movement_type TEXT NOT NULL,
  material TEXT NOT NULL,
  lot TEXT,
  to_location TEXT,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS confirmations (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  equipment_id TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  good INTEGER NOT NULL,
  scrap INTEGER NOT NULL,
  shift_key TEXT NOT NULL,
  shift_end_ms INTEGER NOT NULL,
  booking_id TEXT
);
CREATE TABLE IF NOT EXISTS bookings (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  shift_key TEXT NOT NULL,
  segment_id TEXT NOT NULL,
  good INTEGER NOT NULL,
  scrap INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lots (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  quantity INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS consumptions (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  material TEXT NOT NULL,
  lot TEXT,
  quantity TEXT NOT NULL,
  unit TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (type, object_key)
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  body TEXT NOT NULL,
  status INTEGER,
  error TEXT,
  sent_at TEXT
);
`;

export interface OrderRow {
  order_id: string;
  job: string;
  operation: string;
  material: string;
  planned_quantity: number;
  planned_start_ms: number | null;
  state: string | null;
  state_version: number;
  started_at: string | null;
  completed_at: string | null;
  good_adjust: number;
}

export interface ComponentRow {
  material: string;
  quantity: string;
  unit: string;
  lot: string | null;
}

export interface ConfirmationRow {
  id: string;
  start_ms: number;
  end_ms: number;
  good: number;
  scrap: number;
  shift_key: string;
  shift_end_ms: number;
}

/**
 * The hub's order ids and WMS's may differ in SAP's leading zeros (`4711001`, `000004711001`): MES
 * matches them without.
 */
export const orderRef = (id: string) => (/^\d+$/.test(id) ? id.replace(/^0+(?=\d)/, '') : id);

export class MesStore {
  constructor(readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Runs `work` in one transaction. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Takes a delivery once: `book` runs in the same transaction as the key is recorded, so a second
   * delivery of the key changes nothing. Returns false for a key already taken.
   */
  takeOnce(key: string | undefined, path: string, at: string, book: () => void): boolean {
    return takeOnce(this.db, key, path, at, book);
  }

  /**
   * Stores the job of an order revision: its latest plan (quantity, start, BOM). An older revision
   * than the one held changes nothing; MES's own state is never taken from the job.
   */
  recordJob(job: Job, revision: number | undefined): boolean {
    const held = this.db.prepare('SELECT job_revision FROM orders WHERE order_id = ?').get(job.jobId) as
      { job_revision: number | null } | undefined;
    if (held && revision !== undefined && held.job_revision !== null && held.job_revision > revision) return false;
    const operations = job.operations ?? [];
    const producing = operations.find((operation) => operation.produce?.length) ?? operations[0];
    const product = producing?.produce?.[0];
    const start = job.plannedStart ? Date.parse(job.plannedStart) : null;
    this.db
      .prepare(
        `INSERT INTO orders (order_id, job, job_revision, operation, material, planned_quantity, planned_start_ms, state)
         VALUES (@id, @job, @revision, @operation, @material, @quantity, @start, @status)
         ON CONFLICT (order_id) DO UPDATE SET job = excluded.job, job_revision = excluded.job_revision,
           operation = excluded.operation, material = excluded.material,
           planned_quantity = excluded.planned_quantity, planned_start_ms = excluded.planned_start_ms`,
      )
      .run({
        id: job.jobId,
        job: JSON.stringify(job),
        revision: revision ?? null,
        operation: producing?.operation ?? '0010',
        material: product?.material ?? '',
        quantity: Number(product?.qty ?? 0),
        start: start !== null && Number.isFinite(start) ? start : null,
        status: job.status ?? null,
      });
    this.db.prepare('DELETE FROM components WHERE order_id = ?').run(job.jobId);
    const component = this.db.prepare(
      'INSERT OR REPLACE INTO components (order_id, material, quantity, unit, lot) VALUES (?, ?, ?, ?, ?)',
    );
    for (const operation of operations)
      for (const line of operation.consume ?? [])
        component.run(job.jobId, line.material, line.qty ?? '0', line.uom ?? '', line.lot ?? null);
    return true;
  }

  recordMovement(movement: {
    id: string;
    movementType: string;
    materialDefinitionId: string;
    materialLotId?: string;
    toLocation?: string;
    orderId?: string;
  }): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO movements (id, order_ref, movement_type, material, lot, to_location, data)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        movement.id,
        movement.orderId === undefined ? null : orderRef(movement.orderId),
        movement.movementType,
        movement.materialDefinitionId,
        movement.materialLotId ?? null,
        movement.toLocation ?? null,
        JSON.stringify(movement),
      );
  }

  /**
   * Records a confirmation of the context engine; a revision of one not yet booked replaces it. One
   * already booked keeps its booked figures (a correction would go out as a booking of its own).
   */
  recordConfirmation(row: ConfirmationRow & { order_id: string; equipment_id: string }): void {
    this.db
      .prepare(
        `INSERT INTO confirmations (id, order_id, equipment_id, start_ms, end_ms, good, scrap, shift_key, shift_end_ms)
         VALUES (@id, @order_id, @equipment_id, @start_ms, @end_ms, @good, @scrap, @shift_key, @shift_end_ms)
         ON CONFLICT (id) DO UPDATE SET good = excluded.good, scrap = excluded.scrap, end_ms = excluded.end_ms
         WHERE booking_id IS NULL`,
      )
      .run(row);
  }

  recordDocument(type: string, key: string, data: unknown): void {
    this.db
      .prepare('INSERT OR REPLACE INTO documents (type, object_key, data) VALUES (?, ?, ?)')
      .run(type, key, JSON.stringify(data));
  }

  /** Every order, in the order of their planned start. */
  orders(): OrderRow[] {
    return this.db
      .prepare('SELECT * FROM orders ORDER BY planned_start_ms IS NULL, planned_start_ms, order_id')
      .all() as OrderRow[];
  }

  components(orderId: string): ComponentRow[] {
    return this.db
      .prepare('SELECT material, quantity, unit, lot FROM components WHERE order_id = ? ORDER BY material')
      .all(orderId) as ComponentRow[];
  }

  /** WMS's staging of a component for an order: a transfer with the order's id, the latest one. */
  staging(
    orderId: string,
    material: string,
  ): { id: string; lot: string | null; to_location: string | null } | undefined {
    return this.db
      .prepare(
        `SELECT id, lot, to_location FROM movements
         WHERE order_ref = ? AND material = ? AND movement_type = 'Transfer' ORDER BY rowid DESC LIMIT 1`,
      )
      .get(orderRef(orderId), material) as { id: string; lot: string | null; to_location: string | null } | undefined;
  }

  setState(orderId: string, state: string, version: number, field: 'started_at' | 'completed_at', at: string): void {
    this.db
      .prepare(`UPDATE orders SET state = ?, state_version = ?, ${field} = ? WHERE order_id = ?`)
      .run(state, version, at, orderId);
  }

  /** The output confirmations (of `equipmentId`) of an order. */
  confirmations(orderId: string, equipmentId: string, unbookedOnly = false): ConfirmationRow[] {
    return this.db
      .prepare(
        `SELECT id, start_ms, end_ms, good, scrap, shift_key, shift_end_ms FROM confirmations
         WHERE order_id = ? AND equipment_id = ? ${unbookedOnly ? 'AND booking_id IS NULL' : ''} ORDER BY start_ms, id`,
      )
      .all(orderId, equipmentId) as ConfirmationRow[];
  }

  bookingExists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM bookings WHERE id = ?').get(id) !== undefined;
  }

  recordBooking(
    booking: { id: string; orderId: string; shiftKey: string; segmentId: string; good: number; scrap: number },
    confirmationIds: string[],
  ): void {
    this.db
      .prepare('INSERT INTO bookings (id, order_id, shift_key, segment_id, good, scrap) VALUES (?, ?, ?, ?, ?, ?)')
      .run(booking.id, booking.orderId, booking.shiftKey, booking.segmentId, booking.good, booking.scrap);
    const mark = this.db.prepare('UPDATE confirmations SET booking_id = ? WHERE id = ?');
    for (const id of confirmationIds) mark.run(booking.id, id);
  }

  lastBooking(orderId: string): { segment_id: string } | undefined {
    return this.db
      .prepare('SELECT segment_id FROM bookings WHERE order_id = ? ORDER BY rowid DESC LIMIT 1')
      .get(orderId) as { segment_id: string } | undefined;
  }

  lots(orderId: string): Array<{ id: string; n: number; quantity: number }> {
    return this.db.prepare('SELECT id, n, quantity FROM lots WHERE order_id = ? ORDER BY n').all(orderId) as Array<{
      id: string;
      n: number;
      quantity: number;
    }>;
  }

  recordLot(id: string, orderId: string, n: number, quantity: number): void {
    this.db.prepare('INSERT INTO lots (id, order_id, n, quantity) VALUES (?, ?, ?, ?)').run(id, orderId, n, quantity);
  }

  consumptions(orderId: string): Array<{ material: string; lot: string | null; quantity: string; unit: string }> {
    return this.db
      .prepare('SELECT material, lot, quantity, unit FROM consumptions WHERE order_id = ? ORDER BY material')
      .all(orderId) as Array<{ material: string; lot: string | null; quantity: string; unit: string }>;
  }

  recordConsumption(id: string, orderId: string, material: string, lot: string | null, quantity: string, unit: string) {
    this.db
      .prepare('INSERT INTO consumptions (id, order_id, material, lot, quantity, unit) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, orderId, material, lot, quantity, unit);
  }

  addGoodAdjust(orderId: string, delta: number): void {
    this.db.prepare('UPDATE orders SET good_adjust = good_adjust + ? WHERE order_id = ?').run(delta, orderId);
  }

  /** Queues an envelope for the hub (inside the transaction of the change it reports). */
  enqueue(key: string, envelope: { type: string; objectKey: string }): void {
    this.db
      .prepare('INSERT OR IGNORE INTO outbox (idempotency_key, type, object_key, body) VALUES (?, ?, ?, ?)')
      .run(key, envelope.type, envelope.objectKey, JSON.stringify(envelope));
  }

  nextToSend(): { seq: number; idempotency_key: string; type: string; object_key: string; body: string } | undefined {
    return this.db
      .prepare(
        'SELECT seq, idempotency_key, type, object_key, body FROM outbox WHERE status IS NULL ORDER BY seq LIMIT 1',
      )
      .get() as { seq: number; idempotency_key: string; type: string; object_key: string; body: string } | undefined;
  }

  markSent(seq: number, status: number, error: unknown, at: string): void {
    this.db
      .prepare('UPDATE outbox SET status = ?, error = ?, sent_at = ? WHERE seq = ?')
      .run(status, error === undefined ? null : JSON.stringify(error), at, seq);
  }
}
