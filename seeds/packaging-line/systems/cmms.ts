/**
 * The maintenance system (system `cmms`, Maximo-like): opens a work order for every service request
 * the hub sends it and reports the work order's status as Maximo JSON (mapping
 * cmms-maximo-work-order): WAPPR at once, INPRG after 5 and COMP after 45 plant minutes. For its
 * planned outage it answers 503 to every request for CMMS_OUTAGE_WALL_SECONDS wall seconds.
 * Entry: `node dist/seeds/packaging-line/systems/cmms.js`.
 */
import type Database from 'better-sqlite3';
import type { Express } from 'express';
import { log, openStore, runSystem, type SystemSettings } from './common';
import { CMMS_OUTAGE_WALL_SECONDS, EVENTS, atFraction } from './scenario';
import { Outbox, deliveryKeys, minutes, plantIso, serveSystem } from './wms-qms-cmms-bi-store';

/** Each status a new work order goes through, with the plant minutes after its opening. */
const STATUS_PLAN = [
  { status: 'WAPPR', after: 0 },
  { status: 'INPRG', after: 5 },
  { status: 'COMP', after: 45 },
] as const;

const SITE = 'PLANT1';

/** A Maximo service request, as the hub's cmms-maximo-service-request mapping writes it. */
interface ServiceRequest {
  ticketid?: unknown;
  description?: unknown;
  assetnum?: unknown;
  reportdate?: unknown;
  internalpriority?: unknown;
  reportedby?: unknown;
  classstructureid?: unknown;
  externalrefid?: unknown;
}

const text = (value: unknown) => (typeof value === 'string' ? value : null);

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL UNIQUE,
      equipment_id TEXT NOT NULL, reason_code TEXT, description TEXT, revisions INTEGER NOT NULL,
      first_at INTEGER NOT NULL, last_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS work_orders (seq INTEGER PRIMARY KEY AUTOINCREMENT, wonum TEXT NOT NULL UNIQUE,
      request_id TEXT NOT NULL, status TEXT NOT NULL, status_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS refusals (seq INTEGER PRIMARY KEY AUTOINCREMENT, wall_at INTEGER NOT NULL,
      plant_at INTEGER NOT NULL, idempotency_key TEXT, ticket_id TEXT);`);
}

/** Starts the CMMS: its store, its outbox and its HTTP API. */
export async function startCmms(settings: SystemSettings): Promise<{ close(): Promise<void> }> {
  const { clock } = settings;
  const db = openStore(settings);
  createTables(db);
  const taken = deliveryKeys(db);
  // A status is the work order's when it falls due.
  const outbox = new Outbox(db, settings, (row) => {
    const { wonum, status } = row.body as { wonum: string; status: string };
    db.prepare('UPDATE work_orders SET status = ?, status_at = ? WHERE wonum = ?').run(status, row.due, wonum);
    return row.body;
  });

  // The outage, in wall time: from the plant moment it begins, for its wall seconds.
  const outageFrom = clock.wallStart + clock.wallMs(atFraction(clock, EVENTS.cmmsOutage) - clock.plantStart);
  const outageUntil = outageFrom + CMMS_OUTAGE_WALL_SECONDS * 1000;
  const down = () => Date.now() >= outageFrom && Date.now() < outageUntil;

  /** Opens a work order for a new request; a request known already is a revision (no new work order). */
  const take = (request: ServiceRequest & { ticketid: string; assetnum: string }, now: number) => {
    const revised = db
      .prepare(
        'UPDATE requests SET revisions = revisions + 1, description = ?, reason_code = ?, last_at = ? WHERE ticket_id = ?',
      )
      .run(text(request.description), text(request.classstructureid), now, request.ticketid);
    if (revised.changes === 1) {
      const { wonum } = db.prepare('SELECT wonum FROM work_orders WHERE request_id = ?').get(request.ticketid) as {
        wonum: string;
      };
      return { status: 200, answer: { ticketid: request.ticketid, wonum, revised: true } };
    }
    db.prepare(
      'INSERT INTO requests (ticket_id, equipment_id, reason_code, description, revisions, first_at, last_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
    ).run(request.ticketid, request.assetnum, text(request.classstructureid), text(request.description), now, now);
    const { count } = db.prepare('SELECT COUNT(*) AS count FROM work_orders').get() as { count: number };
    const wonum = `WO-${count + 1}`;
    db.prepare('INSERT INTO work_orders (wonum, request_id, status, status_at) VALUES (?, ?, ?, ?)').run(
      wonum,
      request.ticketid,
      STATUS_PLAN[0].status,
      now,
    );
    const priority = Number.isInteger(request.internalpriority) ? { wopriority: request.internalpriority } : {};
    for (const { status, after } of STATUS_PLAN) {
      const due = now + minutes(after);
      outbox.schedule(`${wonum}-${status}`, due, 'status', {
        wonum,
        siteid: SITE,
        description: text(request.description) ?? `Service request ${request.ticketid}`,
        assetnum: request.assetnum,
        worktype: 'CM',
        status,
        statusdate: plantIso(due),
        ...priority,
        origrecordid: request.ticketid,
        origrecordclass: 'SR',
        schedstart: plantIso(now + minutes(STATUS_PLAN[1].after)),
        schedfinish: plantIso(now + minutes(STATUS_PLAN[2].after)),
      });
    }
    log(settings.system, 'work order opened', { wonum, requestId: request.ticketid, equipmentId: request.assetnum });
    return { status: 201, answer: { ticketid: request.ticketid, wonum } };
  };

  const figures = () => ({
    system: 'cmms',
    requests: (
      db.prepare('SELECT ticket_id, equipment_id, reason_code, revisions FROM requests ORDER BY seq').all() as Array<{
        ticket_id: string;
        equipment_id: string;
        reason_code: string | null;
        revisions: number;
      }>
    ).map((row) => ({
      requestId: row.ticket_id,
      equipmentId: row.equipment_id,
      reasonCode: row.reason_code,
      revisions: row.revisions,
    })),
    workOrders: (
      db.prepare('SELECT wonum, request_id, status FROM work_orders ORDER BY seq').all() as Array<{
        wonum: string;
        request_id: string;
        status: string;
      }>
    ).map((row) => ({ wonum: row.wonum, requestId: row.request_id, status: row.status })),
    refusedDuringOutage: (db.prepare('SELECT COUNT(*) AS count FROM refusals').get() as { count: number }).count,
  });

  /** Adds one to the first request's revisions: the figure a check must catch. */
  const corrupt = () => {
    const first = db.prepare('SELECT ticket_id, revisions FROM requests ORDER BY seq LIMIT 1').get() as
      { ticket_id: string; revisions: number } | undefined;
    if (!first) return undefined;
    db.prepare('UPDATE requests SET revisions = revisions + 1 WHERE ticket_id = ?').run(first.ticket_id);
    return {
      figure: 'requests',
      requestId: first.ticket_id,
      field: 'revisions',
      from: first.revisions,
      to: first.revisions + 1,
    };
  };

  const routes = (app: Express) => {
    app.post('/maximo/sr', (req, res) => {
      const request = (req.body ?? {}) as ServiceRequest;
      const now = clock.now();
      if (down()) {
        db.prepare('INSERT INTO refusals (wall_at, plant_at, idempotency_key, ticket_id) VALUES (?, ?, ?, ?)').run(
          Date.now(),
          Math.round(now),
          req.header('idempotency-key') ?? null,
          text(request.ticketid),
        );
        log(settings.system, 'down: service request refused', { ticketid: request.ticketid });
        res.status(503).setHeader('retry-after', '1').json({ error: 'CMMS unavailable (maintenance window)' });
        return;
      }
      const { ticketid, assetnum } = request;
      if (typeof ticketid !== 'string' || typeof assetnum !== 'string') {
        res.status(400).json({ error: 'a service request needs ticketid and assetnum (strings)' });
        return;
      }
      const outcome = db.transaction(() =>
        taken(req, now)
          ? take({ ...request, ticketid, assetnum }, now)
          : { status: 200, answer: { ticketid, duplicate: true } },
      )();
      res.status(outcome.status).json(outcome.answer);
    });
  };

  return serveSystem(settings, db, { routes, figures, corrupt, nothingYet: 'no service request yet', outbox });
}

if (require.main === module) runSystem('cmms', startCmms);
