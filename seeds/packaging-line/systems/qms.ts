/**
 * The QMS / LIMS (system `qms`): samples every finished-goods lot the hub sends it, approves its
 * result ten plant minutes later (LIMS JSON, mapping qms-lims-result), opens a deviation for a
 * failed check — and plays two planned faults: it tries to change a plan ERP owns, and sends one
 * result in the shape a firmware quirk gives. Entry: `node dist/seeds/packaging-line/systems/qms.js`.
 */
import type Database from 'better-sqlite3';
import type { Express } from 'express';
import { log, openStore, runSystem, type SystemSettings } from './common';
import { limsResult, lotIndex, quantityChange, withFirmwareQuirk, type LimsResult } from './qms-payloads';
import { EVENTS, atFraction, orderOfLot, palletLot, plannedOrders } from './scenario';
import { Outbox, deliveryKeys, minutes, plantIso, type Scheduled, serveSystem } from './wms-qms-cmms-bi-store';

/** Plant minutes from sampling a lot to approving its result. */
const RESULT_MINUTES = 10;

/**
 * When, if no result falls due after EVENTS.poisonResult by then, QMS sends the quirky result for a
 * retained sample of the first lot instead (as a fraction of the run).
 */
const POISON_FALLBACK = EVENTS.poisonResult + 0.25;

/** The id of the extra result for the retained sample. */
export const RETAINED_RESULT_ID = 'QR-POISON-1';

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY AUTOINCREMENT, lot TEXT NOT NULL UNIQUE,
      sample_id TEXT NOT NULL, material TEXT, status TEXT, sampled_at INTEGER NOT NULL, revisions INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY AUTOINCREMENT, result_id TEXT NOT NULL UNIQUE,
      sample_id TEXT NOT NULL, lot TEXT NOT NULL, order_id TEXT, disposition TEXT NOT NULL,
      approved_at INTEGER NOT NULL, quirk INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS deviations (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
      result_id TEXT NOT NULL, lot TEXT NOT NULL, opened_at INTEGER NOT NULL);`);
}

/** Starts the QMS: its store, its outbox (with the planned faults scheduled) and its HTTP API. */
export async function startQms(settings: SystemSettings): Promise<{ close(): Promise<void> }> {
  const { clock } = settings;
  const orders = plannedOrders(clock.hours);
  const orderA = orders[0]!;
  const db = openStore(settings);
  createTables(db);
  const taken = deliveryKeys(db);

  const quirkSent = () => db.prepare('SELECT 1 FROM results WHERE quirk = 1').get() !== undefined;

  /** Approves a result: it is recorded, a rejected one opens a deviation. */
  const approve = (result: LimsResult, at: number, quirk: boolean) => {
    db.prepare(
      'INSERT INTO results (result_id, sample_id, lot, order_id, disposition, approved_at, quirk) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(result.resultId, result.sampleId, result.lot, result.order ?? null, result.disposition, at, quirk ? 1 : 0);
    if (result.disposition !== 'R') return;
    const { count } = db.prepare('SELECT COUNT(*) AS count FROM deviations').get() as { count: number };
    const id = `DEV-${count + 1}`;
    db.prepare('INSERT INTO deviations (id, result_id, lot, opened_at) VALUES (?, ?, ?, ?)').run(
      id,
      result.resultId,
      result.lot,
      at,
    );
    log(settings.system, 'deviation opened', { id, resultId: result.resultId, lot: result.lot });
  };

  const onDue = (row: Scheduled): object | null => {
    if (row.kind === 'result') {
      // The first result due after the planned moment carries the firmware quirk.
      const quirk = row.due >= atFraction(clock, EVENTS.poisonResult) && !quirkSent();
      const result = quirk ? withFirmwareQuirk(row.body as LimsResult) : (row.body as LimsResult);
      approve(result, row.due, quirk);
      return result;
    }
    if (row.kind === 'retained') {
      if (quirkSent()) return null;
      const first = db.prepare('SELECT lot, sample_id FROM samples ORDER BY seq LIMIT 1').get() as
        { lot: string; sample_id: string } | undefined;
      const lot = first?.lot ?? palletLot(orderA.orderId, 1);
      const result = withFirmwareQuirk(
        limsResult({
          lot,
          sampleId: `${first?.sample_id ?? `SMP-${lot}`}-R`,
          orderId: orderOfLot(lot, orders),
          approvedAt: row.due,
          failing: false,
          resultId: RETAINED_RESULT_ID,
        }),
      );
      approve(result, row.due, true);
      return result;
    }
    return row.body;
  };
  const outbox = new Outbox(db, settings, onDue);

  // The planned faults, scheduled once (a restart finds them in the store).
  const changeAt = atFraction(clock, EVENTS.nonOwnerChange);
  outbox.schedule('NONOWNER-ORDER-A', changeAt, 'nonOwnerChange', quantityChange(orderA, orderA.orderId, changeAt));
  outbox.schedule(RETAINED_RESULT_ID, atFraction(clock, POISON_FALLBACK), 'retained', {});

  /** Records a sample of a lot and schedules its result; a lot sampled before only counts the revision. */
  const sample = (request: { lot: string; material?: unknown; status?: unknown }, now: number) => {
    const status = typeof request.status === 'string' ? request.status : null;
    const known = db.prepare('UPDATE samples SET revisions = revisions + 1, status = ? WHERE lot = ?');
    if (known.run(status, request.lot).changes === 1) return { lot: request.lot, sampled: false };
    const sampleId = `SMP-${request.lot}`;
    db.prepare(
      'INSERT INTO samples (lot, sample_id, material, status, sampled_at, revisions) VALUES (?, ?, ?, ?, ?, 1)',
    ).run(request.lot, sampleId, typeof request.material === 'string' ? request.material : null, status, now);
    const orderId = orderOfLot(request.lot, orders);
    const approvedAt = now + minutes(RESULT_MINUTES);
    const failing = orderId === orderA.orderId && lotIndex(request.lot) === EVENTS.failingCheck;
    const result = limsResult({ lot: request.lot, sampleId, orderId, approvedAt, failing });
    outbox.schedule(result.resultId, approvedAt, 'result', result);
    log(settings.system, 'lot sampled', { lot: request.lot, sampleId, resultDue: plantIso(approvedAt) });
    return { lot: request.lot, sampled: true, sampleId };
  };

  const figures = () => {
    const change = outbox.rows('nonOwnerChange')[0];
    return {
      system: 'qms',
      samples: (
        db.prepare('SELECT lot, sample_id FROM samples ORDER BY seq').all() as Array<Record<string, string>>
      ).map((row) => ({ lot: row['lot'], sampleId: row['sample_id'] })),
      results: (
        db.prepare('SELECT result_id, lot, order_id, disposition FROM results ORDER BY seq').all() as Array<
          Record<string, string | null>
        >
      ).map((row) => ({
        resultId: row['result_id'],
        lot: row['lot'],
        orderId: row['order_id'],
        disposition: row['disposition'],
      })),
      deviations: (
        db.prepare('SELECT id, result_id, lot FROM deviations ORDER BY seq').all() as Array<Record<string, string>>
      ).map((row) => ({ id: row['id'], resultId: row['result_id'], lot: row['lot'] })),
      nonOwnerChange: {
        sent: change?.state === 'sent' || change?.state === 'refused',
        messageId: change?.messageId ?? null,
      },
    };
  };

  /** Turns the first result's disposition round (A ↔ R): the figure a check must catch. */
  const corrupt = () => {
    const first = db.prepare('SELECT result_id, disposition FROM results ORDER BY seq LIMIT 1').get() as
      { result_id: string; disposition: string } | undefined;
    if (!first) return undefined;
    const to = first.disposition === 'A' ? 'R' : 'A';
    db.prepare('UPDATE results SET disposition = ? WHERE result_id = ?').run(to, first.result_id);
    return { figure: 'results', resultId: first.result_id, field: 'disposition', from: first.disposition, to };
  };

  const routes = (app: Express) => {
    app.post('/samples', (req, res) => {
      const request = (req.body ?? {}) as { lot?: unknown; material?: unknown; status?: unknown };
      const { lot } = request;
      if (typeof lot !== 'string' || lot === '') {
        res.status(400).json({ error: 'a sample request needs its lot' });
        return;
      }
      const now = clock.now();
      const outcome = db.transaction(() =>
        taken(req, now) ? sample({ ...request, lot }, now) : { lot, duplicate: true },
      )();
      res.json({ ok: true, ...outcome });
    });
  };

  return serveSystem(settings, db, { routes, figures, corrupt, nothingYet: 'no result approved yet', outbox });
}

if (require.main === module) runSystem('qms', startQms);
