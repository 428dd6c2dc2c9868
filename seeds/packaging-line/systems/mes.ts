/**
 * The demo plant's packaging MES (system `mes`): takes the hub's jobs for ERP's orders and the
 * canonical documents it subscribes to (WMS's stagings, the context engine's confirmations, quality
 * results, work orders), runs one order at a time on the line and sends the hub its state changes,
 * its bookings per shift, finished-goods lots and material consumptions, from an outbox in order.
 * Entry: `node dist/seeds/packaging-line/systems/mes.js` (settings from the demo's environment).
 */
import type { Express, Request } from 'express';
import { log, openStore, sendToHub, serve, settingsOf, stopOnSignal } from './common';
import { jobProblems, type Job } from './mes-documents';
import { MesExecution, confirmationRow } from './mes-execution';
import { MesStore } from './mes-store';

const SYSTEM = 'mes';
const settings = settingsOf(SYSTEM);
const { clock } = settings;
const db = openStore(settings);
const store = new MesStore(db);
const execution = new MesExecution(settings, store);

/** How often MES looks at its orders, in wall milliseconds. */
const LOOK_EVERY_MS = 200;

const plantNow = () => new Date(clock.now()).toISOString();

let stopping = false;
let sending = false;

/** Sends what the outbox holds, in order, one at a time; a hub out of reach is tried again later. */
async function drainOutbox(): Promise<void> {
  if (sending) return;
  sending = true;
  try {
    for (let row = store.nextToSend(); row && !stopping; row = store.nextToSend()) {
      let answer: Awaited<ReturnType<typeof sendToHub>>;
      try {
        answer = await sendToHub(settings, row.body, { contentType: 'json', idempotencyKey: row.idempotency_key });
      } catch (error) {
        log(SYSTEM, 'hub unreachable, will retry', { type: row.type, objectKey: row.object_key, error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 2000));
        continue;
      }
      store.markSent(row.seq, answer.status, answer.error, plantNow());
      log(SYSTEM, `sent ${row.type}`, {
        objectKey: row.object_key,
        status: answer.status,
        messageId: answer.messageId,
        ...(answer.error ? { error: answer.error } : {}),
      });
    }
  } finally {
    sending = false;
  }
}

function look(): void {
  if (stopping) return;
  try {
    execution.evaluate(clock.now());
  } catch (error) {
    log(SYSTEM, 'evaluation failed', { error: (error as Error).stack ?? String(error) });
  }
  void drainOutbox();
}

function revisionOf(req: Request): number | undefined {
  const header = req.header('x-handover-object-revision');
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

interface Envelope {
  type: string;
  objectKey: string;
  sourceSystem?: string;
  document: Record<string, unknown>;
}

/** What MES keeps of one canonical document the hub delivered; a line for its log. */
function take(envelope: Envelope): string {
  const { type, objectKey, document } = envelope;
  if (type === 'ProductionConfirmation') {
    const row = confirmationRow(document);
    if (typeof row === 'string') {
      store.recordDocument(type, objectKey, document);
      return `not counted: ${row}`;
    }
    store.recordConfirmation(row);
    return `${row.equipment_id} ${row.good} good, ${row.scrap} scrap`;
  }
  if (type === 'InventoryMovement') {
    const movement = document as Parameters<MesStore['recordMovement']>[0];
    store.recordMovement(movement);
    return `${movement.movementType} ${movement.materialDefinitionId} ${movement.materialLotId ?? ''} → ${movement.toLocation ?? ''}`;
  }
  store.recordDocument(type, objectKey, document);
  return 'kept';
}

function isEnvelope(value: unknown): value is Envelope {
  const item = value as Partial<Envelope> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.type === 'string' &&
    typeof item.objectKey === 'string' &&
    typeof item.document === 'object' &&
    item.document !== null
  );
}

function routes(app: Express): void {
  // Jobs: the mes-job JSON of every ProductionOrder revision (route orders-to-mes).
  app.post('/jobs', (req, res) => {
    const problems = jobProblems(req.body);
    if (problems.length > 0) {
      res.status(400).json({ error: 'not a job', problems });
      return;
    }
    const job = req.body as Job;
    const revision = revisionOf(req);
    let recorded = false;
    const taken = store.takeOnce(req.header('idempotency-key'), '/jobs', plantNow(), () => {
      recorded = store.recordJob(job, revision);
    });
    if (taken) log(SYSTEM, 'job', { jobId: job.jobId, revision, status: job.status, recorded });
    res.json({ taken, recorded });
    look();
  });

  // Canonical JSON envelopes (routes master-data-to-mes, confirmations-to-mes).
  app.post('/handover', (req, res) => {
    const items: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    const bad = items.findIndex((item) => !isEnvelope(item));
    if (bad >= 0) {
      res.status(400).json({ error: `/${Array.isArray(req.body) ? bad : ''}: not a canonical envelope` });
      return;
    }
    const outcomes: string[] = [];
    const taken = store.takeOnce(req.header('idempotency-key'), '/handover', plantNow(), () => {
      for (const item of items as Envelope[]) outcomes.push(`${item.type} ${item.objectKey}: ${take(item)}`);
    });
    if (taken) log(SYSTEM, 'received', { outcomes });
    res.json({ taken, outcomes });
    look();
  });

  app.get('/figures', (_req, res) => void res.json(execution.figures()));

  app.post('/control/corrupt', (_req, res) => {
    const changed = execution.corrupt();
    if (!changed) {
      res.status(409).json({ error: 'order A is not known to MES yet' });
      return;
    }
    log(SYSTEM, 'figures corrupted', changed);
    res.json({ system: SYSTEM, changed });
  });
}

async function main(): Promise<void> {
  const server = await serve(settings, routes);
  const timer = setInterval(look, LOOK_EVERY_MS);
  log(SYSTEM, 'listening', { port: settings.port });
  stopOnSignal(async () => {
    stopping = true;
    clearInterval(timer);
    await server.close();
    db.close();
  });
  look();
}

main().catch((error: unknown) => {
  log(SYSTEM, 'failed', { error: (error as Error).stack ?? String(error) });
  process.exit(1);
});
