/**
 * The warehouse (system `wms`): stages the components of every released order at the line and puts
 * away the finished-goods lots MES makes, telling the hub each movement as WMS JSON (mapping
 * wms-movement). Entry: `node dist/seeds/packaging-line/systems/wms.js`.
 */
import type Database from 'better-sqlite3';
import type { Express } from 'express';
import { log, openStore, runSystem, type SystemSettings } from './common';
import { BOM, PRODUCT, orderOfLot, plannedOrders } from './scenario';
import { Outbox, deliveryKeys, envelopesOf, minutes, plantIso, serveSystem } from './wms-qms-cmms-bi-store';

/** Where the line's components are staged. */
export const STAGING_LOCATION = 'PACK-L1-STAGING';
/** Where finished goods are put away. */
export const FINISHED_GOODS_LOCATION = 'WH1-FG-01';
/** The warehouse bin each component is picked from. */
const BINS: Record<string, string> = {
  'BOT-500': 'WH1-A-01',
  'CAP-28': 'WH1-A-02',
  'LBL-500': 'WH1-B-01',
  'CASE-24': 'WH1-C-01',
};
/** Plant minutes from an order's release until its components stand at the line. */
const STAGING_MINUTES = 3;

interface OrderDocument {
  id?: unknown;
  state?: unknown;
  segments?: Array<{
    materials?: Array<{ materialDefinitionId?: unknown; use?: unknown; quantity?: { value?: unknown } }>;
  }>;
}

interface PutawayRequest {
  lot?: unknown;
  material?: unknown;
  qty?: unknown;
  uom?: unknown;
  fromLoc?: unknown;
  stockStatus?: unknown;
  handlingUnits?: Array<{ id?: unknown }>;
}

/** The cases an order plans: its produced finished good (any produced material if the product is not named). */
export function plannedCases(order: OrderDocument): number | undefined {
  const produced = (order.segments ?? [])
    .flatMap((segment) => segment.materials ?? [])
    .filter((material) => material.use === 'Produced');
  const product = produced.find((material) => material.materialDefinitionId === PRODUCT.id) ?? produced[0];
  const cases = Number(product?.quantity?.value);
  return Number.isFinite(cases) && cases > 0 ? cases : undefined;
}

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, cases INTEGER NOT NULL, rounds INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS staged (seq INTEGER PRIMARY KEY AUTOINCREMENT, movement_id TEXT NOT NULL UNIQUE,
      order_id TEXT NOT NULL, material TEXT NOT NULL, lot TEXT NOT NULL, quantity INTEGER NOT NULL, unit TEXT NOT NULL,
      moved_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS lots (seq INTEGER PRIMARY KEY AUTOINCREMENT, lot TEXT NOT NULL UNIQUE,
      material TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT, stock_status TEXT, order_id TEXT,
      location TEXT NOT NULL, received_at INTEGER NOT NULL, revisions INTEGER NOT NULL);`);
}

/** Starts the WMS: its store, its outbox and its HTTP API. */
export async function startWms(settings: SystemSettings): Promise<{ close(): Promise<void> }> {
  const { clock } = settings;
  const db = openStore(settings);
  createTables(db);
  const taken = deliveryKeys(db);
  // A staging movement is done when it falls due: then its material stands at the line.
  const outbox = new Outbox(db, settings, (row) => {
    if (row.kind === 'staging') {
      const body = row.body as {
        movementId: string;
        order: string;
        material: string;
        lot: string;
        qty: string;
        uom: string;
      };
      db.prepare(
        'INSERT OR IGNORE INTO staged (movement_id, order_id, material, lot, quantity, unit, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(body.movementId, body.order, body.material, body.lot, Number(body.qty), body.uom, row.due);
    }
    return row.body;
  });

  /** Stages an order's components for the cases it plans beyond those staged already. */
  const stage = (order: OrderDocument, now: number): string[] => {
    if (order.state !== 'Released' || typeof order.id !== 'string') return [];
    const cases = plannedCases(order);
    if (cases === undefined) {
      log(settings.system, 'released order without a planned quantity: not staged', { orderId: order.id });
      return [];
    }
    const known = db.prepare('SELECT cases, rounds FROM orders WHERE order_id = ?').get(order.id) as
      { cases: number; rounds: number } | undefined;
    const already = known?.cases ?? 0;
    if (cases <= already) return [];
    const round = (known?.rounds ?? 0) + 1;
    const due = now + minutes(STAGING_MINUTES);
    const ids = BOM.map((component) => {
      const movementId = `STG-${order.id}-${component.material}${round === 1 ? '' : `-${round}`}`;
      outbox.schedule(movementId, due, 'staging', {
        movementId,
        type: 'TR',
        material: component.material,
        lot: component.lot,
        qty: String(component.perCase * (cases - already)),
        uom: component.unit,
        fromLoc: BINS[component.material],
        toLoc: STAGING_LOCATION,
        order: order.id,
        timestamp: plantIso(due),
      });
      return movementId;
    });
    db.prepare(
      'INSERT INTO orders (order_id, cases, rounds) VALUES (?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET cases = excluded.cases, rounds = excluded.rounds',
    ).run(order.id, cases, round);
    log(settings.system, 'staging an order', { orderId: order.id, cases: cases - already, movements: ids });
    return ids;
  };

  /**
   * The order a finished-goods lot was made for: from its id, spelt as the hub delivered the order
   * to WMS when it has (the hub may keep an order number without SAP's leading zeros).
   */
  const orderOf = (lot: string): string | undefined => {
    const planned = orderOfLot(lot, plannedOrders(clock.hours));
    if (planned === undefined) return undefined;
    const seen = db.prepare('SELECT order_id FROM orders').all() as Array<{ order_id: string }>;
    return seen.find((order) => order.order_id.slice(-7) === planned.slice(-7))?.order_id ?? planned;
  };

  /** Puts a lot away and books its receipt; a lot put away before only counts the revision. */
  const putAway = (request: PutawayRequest & { lot: string; material: string; qty: string }, now: number) => {
    const stockStatus = typeof request.stockStatus === 'string' ? request.stockStatus : null;
    const stored = db.prepare('UPDATE lots SET revisions = revisions + 1, stock_status = ? WHERE lot = ?');
    if (stored.run(stockStatus, request.lot).changes === 1) return { lot: request.lot, receipt: false };
    const orderId = orderOf(request.lot);
    const unit = typeof request.uom === 'string' ? request.uom : undefined;
    db.prepare(
      'INSERT INTO lots (lot, material, quantity, unit, stock_status, order_id, location, received_at, revisions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)',
    ).run(
      request.lot,
      request.material,
      request.qty,
      unit ?? null,
      stockStatus,
      orderId ?? null,
      FINISHED_GOODS_LOCATION,
      now,
    );
    const units = (request.handlingUnits ?? []).filter((unit) => typeof unit.id === 'string');
    const movementId = `PUT-${request.lot}`;
    outbox.schedule(movementId, now, 'receipt', {
      movementId,
      type: 'GR',
      material: request.material,
      lot: request.lot,
      ...(units.length === 1 ? { handlingUnit: units[0]!.id } : {}),
      qty: request.qty,
      ...(unit ? { uom: unit } : {}),
      ...(typeof request.fromLoc === 'string' ? { fromLoc: request.fromLoc } : {}),
      toLoc: FINISHED_GOODS_LOCATION,
      ...(orderId ? { order: orderId } : {}),
      timestamp: plantIso(now),
    });
    return { lot: request.lot, receipt: true, movementId };
  };

  const figures = () => ({
    system: 'wms',
    staged: (
      db
        .prepare(
          'SELECT order_id, material, lot, SUM(quantity) AS quantity, unit FROM staged GROUP BY order_id, material, lot, unit ORDER BY MIN(seq)',
        )
        .all() as Array<{ order_id: string; material: string; lot: string; quantity: number; unit: string }>
    ).map((row) => ({
      orderId: row.order_id,
      material: row.material,
      lot: row.lot,
      quantity: row.quantity,
      unit: row.unit,
    })),
    received: (
      db.prepare('SELECT order_id, lot, material, quantity, unit FROM lots ORDER BY seq').all() as Array<{
        order_id: string | null;
        lot: string;
        material: string;
        quantity: string;
        unit: string | null;
      }>
    ).map((row) => ({
      orderId: row.order_id,
      lot: row.lot,
      material: row.material,
      quantity: Number(row.quantity),
      unit: row.unit,
    })),
  });

  /** Adds one to the first staged quantity (else the first received one): the figure a check must catch. */
  const corrupt = () => {
    const movement = db.prepare('SELECT movement_id, order_id, material FROM staged ORDER BY seq LIMIT 1').get() as
      { movement_id: string; order_id: string; material: string } | undefined;
    if (movement) {
      const total = () =>
        (
          db
            .prepare('SELECT SUM(quantity) AS quantity FROM staged WHERE order_id = ? AND material = ?')
            .get(movement.order_id, movement.material) as { quantity: number }
        ).quantity;
      const from = total();
      db.prepare('UPDATE staged SET quantity = quantity + 1 WHERE movement_id = ?').run(movement.movement_id);
      return { figure: 'staged', orderId: movement.order_id, material: movement.material, from, to: total() };
    }
    const lot = db.prepare('SELECT lot, quantity FROM lots ORDER BY seq LIMIT 1').get() as
      { lot: string; quantity: string } | undefined;
    if (!lot) return undefined;
    const to = String(Number(lot.quantity) + 1);
    db.prepare('UPDATE lots SET quantity = ? WHERE lot = ?').run(to, lot.lot);
    return { figure: 'received', lot: lot.lot, from: Number(lot.quantity), to: Number(to) };
  };

  const routes = (app: Express) => {
    app.post('/handover', (req, res) => {
      const envelopes = envelopesOf(req.body);
      if (!envelopes) {
        res.status(400).json({ error: 'expected a canonical JSON envelope or an array of them' });
        return;
      }
      const now = clock.now();
      const staged = db.transaction(() =>
        taken(req, now)
          ? envelopes.flatMap((envelope) =>
              envelope.type === 'ProductionOrder' ? stage(envelope.document as OrderDocument, now) : [],
            )
          : [],
      )();
      res.json({ ok: true, staged });
    });
    app.post('/putaway', (req, res) => {
      const request = (req.body ?? {}) as PutawayRequest;
      const { lot, material, qty } = request;
      if (typeof lot !== 'string' || typeof material !== 'string' || typeof qty !== 'string') {
        res.status(400).json({ error: 'a put-away request needs lot, material and qty (strings)' });
        return;
      }
      const now = clock.now();
      const outcome = db.transaction(() =>
        taken(req, now) ? putAway({ ...request, lot, material, qty }, now) : { lot, duplicate: true },
      )();
      res.json({ ok: true, ...outcome });
    });
  };

  return serveSystem(settings, db, { routes, figures, corrupt, nothingYet: 'nothing staged or received yet', outbox });
}

if (require.main === module) runSystem('wms', startWms);
