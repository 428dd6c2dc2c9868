/**
 * A route through a connector, delivered by a `--role worker` process: the worker runs an
 * outbound-only instance of the MQTT connector the route names, so the document reaches a real
 * broker's subscriber instead of ending as a dead letter.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startTestBroker, type TestBroker } from '../connectors/mqtt/test-broker';
import { plainClient } from '../connectors/mqtt/test-support';
import { deliverQueue, partitionOf } from '../hub/queue/queue-keys';
import { waitFor } from './support/http-target';
import { orderEnvelopeJson } from './support/hub-process';
import { startTopology, type Topology } from './support/topology';

let topology: Topology;
let broker: TestBroker;
let subscriber: MqttClient | undefined;

beforeAll(async () => {
  broker = await startTestBroker();
  topology = await startTopology();
}, 30000);

afterAll(async () => {
  await subscriber?.endAsync();
  await topology?.close();
  await broker?.close();
}, 30000);

it('delivers a route through an MQTT connector from a worker process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-scale-route-'));
  const configFile = join(dir, 'hub.yaml');
  writeFileSync(
    configFile,
    `systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
connectors:
  - id: mes-broker
    kind: mqtt
    config: { url: "${broker.url}", clientId: handover-mes, system: mes, protocolVersion: ${broker.protocolVersion} }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], connector: mes-broker }
`,
  );
  subscriber = await plainClient(broker.url, broker.protocolVersion);
  const received: { topic: string; body: string }[] = [];
  subscriber.on('message', (topic, payload) => received.push({ topic, body: payload.toString() }));
  await subscriber.subscribeAsync('handover/#', { qos: 1 });

  const api = await topology.start('api', configFile);
  await topology.start('worker', configFile);
  // The worker starts its connectors before its delivery workers: once these listen, it can send.
  await topology.workersOn(deliverQueue('mes', partitionOf('ProductionOrder', 'PO-ROUTE-1', 16)), 1);
  const admin = { authorization: 'Bearer admin-token' };
  const response = await fetch(`${api.url}/api/v1/inbound/erp`, {
    method: 'POST',
    headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
    body: orderEnvelopeJson('PO-ROUTE-1', { version: 1 }),
  });
  expect(response.status).toBe(202);
  const { messageId } = (await response.json()) as { messageId: string };

  const trace = await waitFor(
    async () => {
      const body = (await (await fetch(`${api.url}/api/v1/messages/${messageId}`, { headers: admin })).json()) as {
        deliveries?: { status: string; lastError?: string }[];
      };
      // Settled, or a first failed attempt: its error says why (a retry would not end within the test).
      return body.deliveries?.length && body.deliveries.every((d) => d.status !== 'pending' || d.lastError)
        ? body
        : undefined;
    },
    30000,
    'the delivery settled or failed',
  );
  expect(trace.deliveries!.map((d) => ({ status: d.status, lastError: d.lastError ?? null }))).toEqual([
    { status: 'delivered', lastError: null },
  ]);
  await waitFor(() => received.length > 0, 10000, 'the document at the subscriber');
  expect(received).toEqual([
    { topic: 'handover/ProductionOrder/PO-ROUTE-1', body: expect.stringContaining('"objectKey":"PO-ROUTE-1"') },
  ]);
  const dead = (await (await fetch(`${api.url}/api/v1/dead-letters`, { headers: admin })).json()) as {
    deadLetters: unknown[];
  };
  expect(dead.deadLetters).toEqual([]);
}, 60000);
