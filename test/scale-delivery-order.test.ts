/**
 * Scale-out ordering: one `--role api` and two `--role worker` processes on one Redis and one
 * PostgreSQL. Many versions of a few orders are posted at once; the target must see each order's
 * versions in increasing order, every delivery once, and end with the newest version of each —
 * and still in order after a kill -9 of a worker mid-stream (a repeat then is the same delivery).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverQueue, partitionOf } from '../hub/queue/queue-keys';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { orderEnvelopeJson, writeOrdersConfig } from './support/hub-process';
import { startTopology, type HubProcess, type Topology } from './support/topology';

const VERSIONS = 40;
const SENDERS = 12;

let topology: Topology;
let target: HttpTarget;
let api: HubProcess;
let workers: HubProcess[];

beforeAll(async () => {
  topology = await startTopology();
  target = await startHttpTarget();
  const configFile = writeOrdersConfig(mkdtempSync(join(tmpdir(), 'handover-scale-order-')), target.url);
  api = await topology.start('api', configFile);
  workers = await Promise.all([topology.start('worker', configFile), topology.start('worker', configFile)]);
}, 60000);

afterAll(async () => {
  await topology?.close();
  await target?.close();
}, 30000);

/** Posts versions 1..VERSIONS of every order, SENDERS at a time; `progress(n)` after each 202. */
async function postAll(orders: string[], progress: (posted: number) => void = () => undefined): Promise<void> {
  const posts = orders.flatMap((order) => Array.from({ length: VERSIONS }, (_, i) => ({ order, version: i + 1 })));
  posts.sort((a, b) => a.version - b.version);
  let next = 0;
  let posted = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < posts.length) {
        const { order, version } = posts[next++]!;
        const response = await fetch(`${api.url}/api/v1/inbound/erp`, {
          method: 'POST',
          headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
          body: orderEnvelopeJson(order, { version, description: `${order} v${version}` }),
        });
        expect(response.status).toBe(202);
        progress(++posted);
      }
    }),
  );
}

/** What the target received for one order, in arrival order. */
function receivedOf(order: string): { version: number; key: string }[] {
  return target.received
    .map((request) => ({
      envelope: JSON.parse(request.body) as { objectKey: string; version: number },
      key: String(request.headers['idempotency-key']),
    }))
    .filter(({ envelope }) => envelope.objectKey === order)
    .map(({ envelope, key }) => ({ version: envelope.version, key }));
}

async function newestDelivered(orders: string[], timeoutMs: number): Promise<void> {
  await waitFor(
    () => orders.every((order) => receivedOf(order).at(-1)?.version === VERSIONS),
    timeoutMs,
    'the newest version of every order delivered',
  );
  // Nothing may still be on its way once the newest arrived: later arrivals would break the order too.
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

async function storedVersion(order: string): Promise<number> {
  const response = await fetch(`${api.url}/api/v1/objects/ProductionOrder/${order}`, {
    headers: { authorization: 'Bearer admin-token' },
  });
  return ((await response.json()) as { version: number }).version;
}

it('delivers every version once and in order with two worker processes', async () => {
  const orders = ['PO-SCALE-A', 'PO-SCALE-B', 'PO-SCALE-C'];
  // Both workers listen on every order's delivery partition before anything is posted.
  for (const order of orders)
    await topology.workersOn(deliverQueue('mes', partitionOf('ProductionOrder', order, 16)), 2);
  await postAll(orders);
  await newestDelivered(orders, 45000);

  for (const order of orders) {
    const versions = receivedOf(order).map(({ version }) => version);
    const outOfOrder = versions.filter((version, i) => i > 0 && version <= versions[i - 1]!);
    expect({ order, outOfOrder }).toEqual({ order, outOfOrder: [] });
    expect(versions.at(-1)).toBe(VERSIONS);
    expect(await storedVersion(order)).toBe(VERSIONS);
  }
  const keys = target.received.map((request) => String(request.headers['idempotency-key']));
  expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
}, 60000);

it('keeps the order when a worker is killed mid-stream; a repeat is the same delivery again', async () => {
  const orders = ['PO-SCALE-KILL-A', 'PO-SCALE-KILL-B', 'PO-SCALE-KILL-C'];
  let killing: Promise<void> | undefined;
  await postAll(orders, (posted) => {
    if (posted === Math.floor((orders.length * VERSIONS) / 3)) killing = topology.kill(workers[0]!);
  });
  await killing;
  // The killed worker's active jobs wait for BullMQ's stalled check (lock 15 s) before the other worker runs them.
  await newestDelivered(orders, 50000);

  for (const order of orders) {
    const received = receivedOf(order);
    const broken = received.filter(
      ({ version, key }, i) =>
        i > 0 &&
        (version < received[i - 1]!.version || (version === received[i - 1]!.version && key !== received[i - 1]!.key)),
    );
    expect({ order, broken }).toEqual({ order, broken: [] });
    expect(await storedVersion(order)).toBe(VERSIONS);
  }
}, 90000);
