/**
 * The demo plant's ERP (system `erp`, SAP-like): releases the shift's two orders (order A as a
 * LOIPRO01 IDoc, order B as B2MML), changes order A and has its interface re-send A's versions late
 * and twice, as planned; books the goods movements the hub sends it (WMMBXY: 101 receipts, 261
 * issues) per order and in its inventory, and keeps each order's state from the hub's B2MML.
 * Entry: `node dist/seeds/packaging-line/systems/erp.js` (settings from the demo's environment).
 */
import type { Express, Request, Response } from 'express';
import { B2mmlError } from '../../../schemas/b2mml/index';
import { log, openStore, sendToHub, serve, settingsOf, stopOnSignal } from './common';
import { readOrderStates, processOperationsSchedule } from './erp-b2mml';
import { IdocError, loiproIdoc, readGoodsMovements } from './erp-idoc';
import { docnumOf, isoSeconds, sapPad, type OrderVersion } from './erp-orders';
import { ErpStore } from './erp-store';
import { EVENTS, atFraction, orderAIncrease, plannedOrders, type PlannedOrder } from './scenario';

const SYSTEM = 'erp';
const settings = settingsOf(SYSTEM);
const { clock } = settings;
const db = openStore(settings);
const store = new ErpStore(db);
const [orderA, orderB] = plannedOrders(clock.hours) as [PlannedOrder, PlannedOrder];

const payloadOf = (order: OrderVersion) =>
  order.format === 'idoc' ? loiproIdoc(order) : processOperationsSchedule(order);

/** An order's version as ERP created it; created now (and kept) the first time it is asked for. */
function versionOf(orderId: string, version: number, create: () => OrderVersion) {
  const kept = store.version(orderId, version);
  if (kept) return kept;
  const order = create();
  const payload = payloadOf(order);
  store.createVersion(order, payload);
  return { order, payload };
}

/** SAP's order number (AUFNR) of a planned order: the hub's key padded to 12 digits. */
const aufnr = (planned: PlannedOrder) => sapPad(planned.orderId, 12);

function release(planned: PlannedOrder) {
  return versionOf(aufnr(planned), 1, () => ({
    orderId: aufnr(planned),
    format: planned.format,
    version: 1,
    quantity: planned.quantity,
    start: atFraction(clock, planned.start),
    due: atFraction(clock, planned.due),
    createdAt: clock.now(),
  }));
}

function changeOrderA() {
  const first = store.version(aufnr(orderA), 1)!.order;
  return versionOf(aufnr(orderA), 2, () => ({
    ...first,
    version: 2,
    quantity: first.quantity + orderAIncrease(orderA),
    // CRETIM counts seconds: a later version must be created in a later second, or version 1 sent
    // again would not be older than it.
    createdAt: Math.max(clock.now(), Math.floor(first.createdAt / 1000) * 1000 + 1000),
  }));
}

function kept(orderId: string, version: number) {
  const found = store.version(orderId, version);
  if (!found) throw new Error(`order ${orderId} has no version ${version} to re-send`);
  return found;
}

/**
 * Sends a version's payload exactly as ERP first wrote it. Each transmission has its own
 * Idempotency-Key (kept across retries of that transmission), so a re-send is judged by what it
 * carries — its creation time, its content — not refused as the same request.
 */
async function transmit(step: string, { order, payload }: { order: OrderVersion; payload: string }): Promise<void> {
  const idempotencyKey = `erp-${step}-${docnumOf(order)}`;
  const answer = await sendToHub(settings, payload, { contentType: 'xml', idempotencyKey });
  store.recordSend(step, order, idempotencyKey, isoSeconds(clock.now()), answer);
  log(SYSTEM, `sent ${step}`, {
    orderId: order.orderId,
    version: order.version,
    format: order.format,
    status: answer.status,
    messageId: answer.messageId,
    ...(answer.error ? { error: answer.error } : {}),
  });
}

/** The planned transmissions, in plant time; each is done once (the store remembers across restarts). */
const plan: Array<{ step: string; at: number; run: () => Promise<void> }> = [
  { step: 'release-A', at: clock.plantStart + 60_000, run: () => transmit('release-A', release(orderA)) },
  { step: 'release-B', at: clock.plantStart + 60_000, run: () => transmit('release-B', release(orderB)) },
  {
    step: 'change-A',
    at: atFraction(clock, EVENTS.orderAChange),
    run: () => transmit('change-A', changeOrderA()),
  },
  {
    step: 'stale-resend-A',
    at: atFraction(clock, EVENTS.staleResend),
    run: () => transmit('stale-resend-A', kept(aufnr(orderA), 1)),
  },
  {
    step: 'duplicate-resend-A',
    at: atFraction(clock, EVENTS.duplicateResend),
    run: () => transmit('duplicate-resend-A', kept(aufnr(orderA), 2)),
  },
];

let stopping = false;

async function runPlan(): Promise<void> {
  for (const { step, at, run } of plan) {
    if (store.sent(step)) continue;
    while (!stopping && clock.now() < at) await clock.until(Math.min(at, clock.now() + clock.speed * 1000));
    // The hub unreachable even after sendToHub's retries: ERP's interface tries again later.
    while (!stopping) {
      try {
        await run();
        break;
      } catch (error) {
        log(SYSTEM, `${step} failed, retrying`, { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
    if (stopping) return;
  }
}

function xmlBody(req: Request, res: Response): string | undefined {
  if (typeof req.body === 'string' && req.body.trim() !== '') return req.body;
  res.status(415).json({ error: 'expected an XML body (application/xml)' });
  return undefined;
}

function revisionOf(req: Request): number | undefined {
  const header = req.header('x-handover-object-revision');
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

function routes(app: Express): void {
  // Order state (every ProductionOrder revision, B2MML from route order-state-to-erp).
  app.post('/b2mml', (req, res) => {
    const xml = xmlBody(req, res);
    if (xml === undefined) return;
    let states: ReturnType<typeof readOrderStates>;
    try {
      states = readOrderStates(xml);
    } catch (error) {
      if (!(error instanceof B2mmlError)) throw error;
      res.status(400).json({ error: error.message, problems: error.problems });
      return;
    }
    const revision = revisionOf(req);
    const recorded: string[] = [];
    const taken = store.takeOnce(req.header('idempotency-key'), '/b2mml', isoSeconds(clock.now()), () => {
      for (const { orderId, state } of states)
        if (store.recordState(sapPad(orderId, 12), state, revision)) recorded.push(`${orderId}: ${state ?? '-'}`);
    });
    if (taken) log(SYSTEM, 'order state', { states, revision, recorded });
    res.json({ taken, recorded });
  });

  // Goods movements (WMMBXY IDocs from route goods-movements-to-erp).
  app.post('/idoc', (req, res) => {
    const xml = xmlBody(req, res);
    if (xml === undefined) return;
    const key = req.header('idempotency-key') ?? `idoc-${Date.now()}`;
    try {
      const { reference, items } = readGoodsMovements(xml);
      const taken = store.takeOnce(key, '/idoc', isoSeconds(clock.now()), () =>
        store.bookMovements(key, items, isoSeconds(clock.now())),
      );
      if (taken) log(SYSTEM, 'goods movement booked', { reference, items });
      res.json({ taken, items: items.length });
    } catch (error) {
      if (!(error instanceof IdocError)) throw error;
      log(SYSTEM, 'goods movement refused', { error: error.message });
      res.status(error.status).json({ error: error.message });
    }
  });

  app.get('/figures', (_req, res) => void res.json(store.figures()));

  app.post('/control/corrupt', (_req, res) => {
    const changed = store.corrupt(aufnr(orderA));
    if (!changed) {
      res.status(409).json({ error: `order ${orderA.orderId} is not released yet` });
      return;
    }
    log(SYSTEM, 'figures corrupted', changed);
    res.json({ system: SYSTEM, changed });
  });
}

async function main(): Promise<void> {
  const server = await serve(settings, routes);
  log(SYSTEM, 'listening', { port: settings.port, orders: [orderA, orderB] });
  stopOnSignal(async () => {
    stopping = true;
    await server.close();
    db.close();
  });
  await runPlan();
  if (!stopping) log(SYSTEM, 'all planned transmissions sent');
}

main().catch((error: unknown) => {
  log(SYSTEM, 'failed', { error: (error as Error).stack ?? String(error) });
  process.exit(1);
});
