/**
 * Scale-out ordering: one `--role api` and two `--role worker` processes on one Redis and one
 * PostgreSQL. Many versions of a few orders are posted at once; the target must see each order's
 * versions in increasing order, every delivery once, and end with the newest version of each.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverQueue, partitionOf } from '../hub/queue/queue-keys';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { orderEnvelopeJson, writeOrdersConfig } from './support/hub-process';
import { startTopology, type Topology } from './support/topology';

const ORDERS = ['PO-SCALE-A', 'PO-SCALE-B', 'PO-SCALE-C'];
const VERSIONS = 40;
const SENDERS = 12;

let topology: Topology;
let target: HttpTarget;

beforeAll(async () => {
  topology = await startTopology();
  target = await startHttpTarget();
}, 30000);

afterAll(async () => {
  await topology?.close();
  await target?.close();
}, 30000);

it('delivers every version once and in order with two worker processes', async () => {
  const configFile = writeOrdersConfig(mkdtempSync(join(tmpdir(), 'handover-scale-order-')), target.url);
  const api = await topology.start('api', configFile);
  await Promise.all([topology.start('worker', configFile), topology.start('worker', configFile)]);
  // Both workers listen on every order's delivery partition before anything is posted.
  for (const order of ORDERS)
    await topology.workersOn(deliverQueue('mes', partitionOf('ProductionOrder', order, 16)), 2);

  const posts = ORDERS.flatMap((order) => Array.from({ length: VERSIONS }, (_, i) => ({ order, version: i + 1 })));
  posts.sort((a, b) => a.version - b.version);
  let next = 0;
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
      }
    }),
  );

  const versionsOf = (order: string) =>
    target.received
      .map((request) => JSON.parse(request.body) as { objectKey: string; version: number })
      .filter((envelope) => envelope.objectKey === order)
      .map((envelope) => envelope.version);
  await waitFor(
    () => ORDERS.every((order) => versionsOf(order).at(-1) === VERSIONS),
    45000,
    'the newest version of every order delivered',
  );
  // Nothing may still be on its way once the newest arrived: later arrivals would break the order too.
  await new Promise((resolve) => setTimeout(resolve, 1000));

  for (const order of ORDERS) {
    const versions = versionsOf(order);
    const outOfOrder = versions.filter((version, i) => i > 0 && version <= versions[i - 1]!);
    expect({ order, outOfOrder }).toEqual({ order, outOfOrder: [] });
    expect(versions.at(-1)).toBe(VERSIONS);
  }
  const keys = target.received.map((request) => String(request.headers['idempotency-key']));
  const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
  expect(repeated).toEqual([]);

  for (const order of ORDERS) {
    const object = (await (
      await fetch(`${api.url}/api/v1/objects/ProductionOrder/${order}`, {
        headers: { authorization: 'Bearer admin-token' },
      })
    ).json()) as { version: number };
    expect(object.version).toBe(VERSIONS);
  }
}, 60000);
