/**
 * The simulated ERP's own store (SQLite): its orders and every version it created with the payload
 * as sent, what it sent the hub, the hub's deliveries it has taken (by Idempotency-Key), the goods
 * movements booked per order and the inventory per material and lot.
 */
import type Database from 'better-sqlite3';
import { takeOnce } from './common';
import { fromMilli, produced, sapNumber, toMilli, type OrderVersion } from './erp-orders';
import { IdocError, type GoodsMovementItem } from './erp-idoc';
import { BOM } from './scenario';

/** What ERP's warehouse holds of each component lot at the start: plenty. */
export const STARTING_STOCK = 10_000_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY,
  format TEXT NOT NULL,
  material TEXT NOT NULL,
  unit TEXT NOT NULL,
  version INTEGER NOT NULL,
  planned_quantity INTEGER NOT NULL,
  state TEXT,
  state_revision INTEGER,
  received_adjust_milli INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS order_versions (
  order_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (order_id, version)
);
CREATE TABLE IF NOT EXISTS sends (
  step TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  sent_at TEXT NOT NULL,
  status INTEGER NOT NULL,
  message_id TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS inbox (
  idempotency_key TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS movements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL,
  order_id TEXT NOT NULL,
  bwart TEXT NOT NULL,
  material TEXT NOT NULL,
  lot TEXT NOT NULL,
  quantity_milli INTEGER NOT NULL,
  unit TEXT NOT NULL,
  booked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory (
  material TEXT NOT NULL,
  lot TEXT NOT NULL,
  unit TEXT NOT NULL,
  quantity_milli INTEGER NOT NULL,
  PRIMARY KEY (material, lot)
);
`;

/** Movement kinds ERP books: receipts and issues from the IDoc's BWART, and the scrap a receipt carries. */
const RECEIPT = '101';
const ISSUE = '261';
const SCRAP = 'scrap';

/** A quantity in thousandths as the figures show it (a JSON number; the plant's are whole cases and pieces). */
const quantity = (milli: number) => Number(fromMilli(milli));

export interface ErpFigures {
  system: 'erp';
  orders: Array<{
    /** The order's key at the hub (and the plan's): SAP's number without its leading zeros. */
    orderId: string;
    /** SAP's order number, 12 digits. */
    aufnr: string;
    material: string;
    plannedQuantity: number;
    unit: string;
    version: number;
    state: string | null;
    received: number;
    scrap: number;
    issued: Array<{ material: string; lot: string; quantity: number; unit: string }>;
  }>;
  inventory: Array<{ material: string; lot: string | null; quantity: number; unit: string }>;
}

export class ErpStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    const stock = db.prepare(
      'INSERT OR IGNORE INTO inventory (material, lot, unit, quantity_milli) VALUES (?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const line of BOM) stock.run(line.material, line.lot, line.unit, STARTING_STOCK * 1000);
      stock.run(produced.material, '', produced.unit, 0);
    })();
  }

  /** The version ERP created, if it has. */
  version(orderId: string, version: number): { order: OrderVersion; payload: string } | undefined {
    const row = this.db
      .prepare('SELECT data, payload FROM order_versions WHERE order_id = ? AND version = ?')
      .get(orderId, version) as { data: string; payload: string } | undefined;
    return row && { order: JSON.parse(row.data) as OrderVersion, payload: row.payload };
  }

  /** Records a new version of an order and its payload; the order's plan is now this version's. */
  createVersion(order: OrderVersion, payload: string): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO order_versions (order_id, version, data, payload) VALUES (?, ?, ?, ?)')
        .run(order.orderId, order.version, JSON.stringify(order), payload);
      this.db
        .prepare(
          // ERP releases what it creates: the state it holds until the hub delivers MES's changes (the hub
          // never routes a system's own revision back to it).
          `INSERT INTO orders (order_id, format, material, unit, version, planned_quantity, state) VALUES (?, ?, ?, ?, ?, ?, 'Released')
           ON CONFLICT (order_id) DO UPDATE SET version = excluded.version, planned_quantity = excluded.planned_quantity`,
        )
        .run(order.orderId, order.format, produced.material, produced.unit, order.version, order.quantity);
    })();
  }

  sent(step: string): boolean {
    return this.db.prepare('SELECT 1 FROM sends WHERE step = ?').get(step) !== undefined;
  }

  recordSend(
    step: string,
    order: OrderVersion,
    key: string,
    at: string,
    answer: { status: number; messageId?: string; error?: unknown },
  ): void {
    this.db
      .prepare(
        `INSERT INTO sends (step, order_id, version, idempotency_key, sent_at, status, message_id, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        step,
        order.orderId,
        order.version,
        key,
        at,
        answer.status,
        answer.messageId ?? null,
        answer.error === undefined ? null : JSON.stringify(answer.error),
      );
  }

  /**
   * Takes a delivery once: `book` runs in the same transaction as the key is recorded, so a second
   * delivery of the key changes nothing. Returns false for a key already taken.
   */
  takeOnce(key: string | undefined, path: string, at: string, book: () => void): boolean {
    return takeOnce(this.db, key, path, at, book);
  }

  /** Records an order's state from the hub, unless an older revision of the object than the one held. */
  recordState(orderId: string, state: string | undefined, revision: number | undefined): boolean {
    const result = this.db
      .prepare(
        `UPDATE orders SET state = ?, state_revision = ?
         WHERE order_id = ? AND (? IS NULL OR state_revision IS NULL OR state_revision <= ?)`,
      )
      .run(state ?? null, revision ?? null, orderId, revision ?? null, revision ?? null);
    return result.changes > 0;
  }

  /** Books the items of a goods movement IDoc to their orders and the inventory (inside takeOnce). */
  bookMovements(key: string, items: GoodsMovementItem[], at: string): void {
    const known = this.db.prepare('SELECT 1 FROM orders WHERE order_id = ?');
    const movement = this.db.prepare(
      `INSERT INTO movements (idempotency_key, order_id, bwart, material, lot, quantity_milli, unit, booked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const stock = this.db.prepare(
      `INSERT INTO inventory (material, lot, unit, quantity_milli) VALUES (?, ?, ?, ?)
       ON CONFLICT (material, lot) DO UPDATE SET quantity_milli = quantity_milli + excluded.quantity_milli`,
    );
    for (const [index, item] of items.entries()) {
      const where = `E1MBXYI[${index}]`;
      if (known.get(item.orderId) === undefined) throw new IdocError(`${where}: order ${item.orderId} is unknown`, 422);
      if (item.bwart !== RECEIPT && item.bwart !== ISSUE)
        throw new IdocError(`${where}: movement type ${item.bwart} is not booked here (101, 261)`, 422);
      let milli: number;
      try {
        milli = toMilli(item.quantity);
      } catch (error) {
        throw new IdocError(`${where}/ERFMG: ${(error as Error).message}`, 422);
      }
      movement.run(key, item.orderId, item.bwart, item.material, item.lot, milli, item.unit, at);
      stock.run(item.material, item.lot, item.unit, item.bwart === RECEIPT ? milli : -milli);
      if (item.scrap !== undefined)
        movement.run(key, item.orderId, SCRAP, item.material, item.lot, toMilli(item.scrap), item.unit, at);
    }
  }

  /** Adds one to the received figure of order `aufnr` (a planted discrepancy); what it changed. */
  corrupt(aufnr: string): { orderId: string; field: 'received'; from: number; to: number } | undefined {
    const before = this.figures().orders.find((order) => order.aufnr === aufnr);
    if (!before) return undefined;
    this.db
      .prepare('UPDATE orders SET received_adjust_milli = received_adjust_milli + 1000 WHERE order_id = ?')
      .run(aufnr);
    const after = this.figures().orders.find((order) => order.aufnr === aufnr)!;
    return { orderId: before.orderId, field: 'received', from: before.received, to: after.received };
  }

  figures(): ErpFigures {
    const orders = this.db.prepare('SELECT * FROM orders ORDER BY order_id').all() as Array<{
      order_id: string;
      material: string;
      unit: string;
      version: number;
      planned_quantity: number;
      state: string | null;
      received_adjust_milli: number;
    }>;
    const sums = this.db.prepare(
      `SELECT bwart, material, lot, unit, SUM(quantity_milli) AS milli FROM movements WHERE order_id = ?
       GROUP BY bwart, material, lot, unit ORDER BY material, lot`,
    );
    const inventory = this.db
      .prepare('SELECT material, lot, unit, quantity_milli FROM inventory ORDER BY material, lot')
      .all() as Array<{ material: string; lot: string; unit: string; quantity_milli: number }>;
    return {
      system: 'erp',
      orders: orders.map((order) => {
        const rows = sums.all(order.order_id) as Array<{
          bwart: string;
          material: string;
          lot: string;
          unit: string;
          milli: number;
        }>;
        const total = (bwart: string) =>
          rows.filter((row) => row.bwart === bwart).reduce((sum, row) => sum + row.milli, 0);
        return {
          orderId: sapNumber(order.order_id),
          aufnr: order.order_id,
          material: order.material,
          plannedQuantity: order.planned_quantity,
          unit: order.unit,
          version: order.version,
          state: order.state,
          received: quantity(total(RECEIPT) + order.received_adjust_milli),
          scrap: quantity(total(SCRAP)),
          issued: rows
            .filter((row) => row.bwart === ISSUE)
            .map((row) => ({ material: row.material, lot: row.lot, quantity: quantity(row.milli), unit: row.unit })),
        };
      }),
      inventory: inventory.map((row) => ({
        material: row.material,
        lot: row.lot === '' ? null : row.lot,
        quantity: quantity(row.quantity_milli),
        unit: row.unit,
      })),
    };
  }
}
