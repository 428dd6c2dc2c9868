/**
 * A delivery whose drains keep ending without an outcome (it crashes or stalls its worker every time)
 * is counted each time, goes first and alone in the next drain, and after MAX_CLAIMS such drains is a
 * PROCESSING_FAILED dead letter without being sent again; the other objects of its partition are
 * delivered meanwhile. A drain ends here without an outcome by being stopped (the shutdown signal)
 * while a real HTTP target holds the poison delivery unanswered — what a worker killed mid-send leaves
 * in the store. Real SQLite, real HTTP.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import pino from 'pino';
import type { CanonicalEnvelope } from '../../schemas/index';
import { parseConfig } from '../config/load';
import type { HubContext } from '../context';
import { createMetrics } from '../metrics';
import { getDelivery, listDeadLetters, markReplayed, openStore, recordBatch, type Db } from '../store/index';
import { ordersConfigYaml, orderEnvelopeJson } from '../../test/support/hub-process';
import { waitFor } from '../../test/support/http-target';
import { deliverProcessor, MAX_CLAIMS } from './deliver';
import { newMessageId } from './enqueue';
import { routesFor } from './route';

let server: Server;
let db: Db;
/** Object keys of the deliveries the target received (the poison ones it never answers until healed). */
const arrived: string[] = [];
let healed = false;

/** What a drain is given: the store, metrics, and its partition's queue, paused while `paused()` says so. */
const contextOf = (config: HubContext['config'], paused: () => boolean) =>
  ({
    config,
    db,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    queues: { deliver: () => ({ isPaused: async () => paused() }) },
  }) as unknown as HubContext;

/** Records one accepted order per key (in this order), each with its delivery to MES. */
async function recordOrders(config: HubContext['config'], keys: string[], firstSeq: number): Promise<string[]> {
  const items = keys.map((key, index) => {
    const id = newMessageId();
    const envelope = { ...(JSON.parse(orderEnvelopeJson(key)) as CanonicalEnvelope), messageId: id };
    return {
      ok: true as const,
      envelopes: [envelope],
      message: {
        id,
        system: 'erp',
        receivedAt: envelope.receivedAt,
        receivedSeq: firstSeq + index,
        contentType: 'json',
        body: '{}',
        mapping: { name: 'canonical-json', documents: 1 },
      },
    };
  });
  const outcomes = await recordBatch(db, items, (envelope) => ({
    ownership: config.ownership,
    partition: 0,
    plan: () => routesFor(config.routes, envelope.type, envelope.document as Record<string, unknown>, 'erp'),
  }));
  return outcomes.map((outcome) => (outcome.ok ? outcome.documents[0]!.outcome.deliveries[0]!.id : ''));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { objectKey } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { objectKey: string };
      arrived.push(objectKey);
      if (objectKey !== 'PO-POISON' || healed) res.writeHead(200).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  db = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'handover-claims-')) });
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await db.close();
});

it('dead-letters a delivery that never ends its drain after MAX_CLAIMS drains, and delivers the others', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = parseConfig(`${ordersConfigYaml(url)}partitions: 1\n`);
  const [poisonId = ''] = await recordOrders(config, ['PO-POISON', 'PO-FINE-1', 'PO-FINE-2'], 1);
  const ctx = contextOf(config, () => false);
  const job = { removeDeduplicationKey: async () => 0 } as unknown as Job;

  for (let drain = 1; drain <= MAX_CLAIMS; drain += 1) {
    const stop = new AbortController();
    const sent = arrived.filter((key) => key === 'PO-POISON').length;
    const running = deliverProcessor(ctx, 'mes', 0, stop.signal)(job);
    await waitFor(
      () => arrived.filter((key) => key === 'PO-POISON').length > sent,
      10000,
      `poison sent in drain ${drain}`,
    );
    if (drain === 1)
      await waitFor(() => arrived.includes('PO-FINE-2') && arrived.includes('PO-FINE-1'), 10000, 'the others');
    stop.abort(new Error('worker gone'));
    await expect(running).rejects.toThrow();
  }
  // The next drain sends it no more: a dead letter that says why.
  await deliverProcessor(ctx, 'mes', 0, new AbortController().signal)(job);
  expect(arrived.filter((key) => key === 'PO-POISON')).toHaveLength(MAX_CLAIMS);
  expect(arrived.filter((key) => key !== 'PO-POISON').sort()).toEqual(['PO-FINE-1', 'PO-FINE-2']);
  expect((await getDelivery(db, poisonId))!.status).toBe('dead');
  const [letter] = await listDeadLetters(db);
  expect(letter).toMatchObject({ code: 'PROCESSING_FAILED', deliveryId: poisonId });
  expect(letter!.reason).toMatch(new RegExp(`in flight in ${MAX_CLAIMS} deliveries`));
  // Once its cause is fixed, a replay sends it: the count starts again with the replay.
  healed = true;
  expect(await markReplayed(db, letter!, 'operator')).toMatchObject({ ok: true });
  await deliverProcessor(ctx, 'mes', 0, new AbortController().signal)(job);
  expect((await getDelivery(db, poisonId))!.status).toBe('delivered');
  expect(arrived.filter((key) => key === 'PO-POISON')).toHaveLength(MAX_CLAIMS + 1);
}, 60000);

it('stops a running drain at its next page once its target is paused, and the rest goes out on resume', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = parseConfig(`${ordersConfigYaml(url)}partitions: 1\n`);
  // More objects than one page of a drain (256), all pending in partition 0.
  const keys = Array.from({ length: 300 }, (_, index) => `PO-PAUSE-${String(index).padStart(3, '0')}`);
  const ids = await recordOrders(config, keys, 100);
  const ours = () => arrived.filter((key) => key.startsWith('PO-PAUSE-'));
  // The operator pauses the target as soon as its first delivery of them has arrived.
  let resumed = false;
  const job = { removeDeduplicationKey: async () => 0 } as unknown as Job;
  await deliverProcessor(
    contextOf(config, () => !resumed && ours().length > 0),
    'mes',
    0,
    new AbortController().signal,
  )(job);
  const beforeResume = ours().length;
  expect(beforeResume).toBeGreaterThan(0);
  expect(beforeResume).toBeLessThan(keys.length);
  const waiting = await Promise.all(ids.map((id) => getDelivery(db, id)));
  expect(waiting.filter((delivery) => delivery!.status === 'pending')).toHaveLength(keys.length - beforeResume);
  resumed = true;
  await deliverProcessor(
    contextOf(config, () => false),
    'mes',
    0,
    new AbortController().signal,
  )(job);
  // Each once (objects of a page go out side by side; one object's revisions in order).
  expect(ours()).toHaveLength(keys.length);
  expect([...ours()].sort()).toEqual(keys);
}, 60000);
