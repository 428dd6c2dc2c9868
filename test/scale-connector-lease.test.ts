/**
 * One inbound connector, two `--role api` processes: exactly one of them subscribes (each message
 * is ingested once), and after a kill -9 of that one the other takes the lease over and ingests
 * what is published afterwards.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startTestBroker, type TestBroker } from '../connectors/mqtt/test-broker';
import { plainClient } from '../connectors/mqtt/test-support';
import { waitFor } from './support/http-target';
import { orderEnvelopeJson } from './support/hub-process';
import { startTopology, type HubProcess, type Topology } from './support/topology';

interface ConnectorView {
  id: string;
  health: { status: string; detail?: string };
  inbound?: { role: 'leader' | 'standby'; leader: string | null };
}

const admin = { authorization: 'Bearer admin-token' };
let topology: Topology;
let broker: TestBroker;
let publisher: MqttClient | undefined;

beforeAll(async () => {
  broker = await startTestBroker();
  topology = await startTopology();
}, 30000);

afterAll(async () => {
  await publisher?.endAsync();
  await topology?.close();
  await broker?.close();
}, 30000);

async function view(hub: HubProcess): Promise<ConnectorView> {
  const body = (await (await fetch(`${hub.url}/api/v1/connectors`, { headers: admin })).json()) as {
    connectors: ConnectorView[];
  };
  return body.connectors.find((connector) => connector.id === 'erp-broker')!;
}

/** The receipts in erp's audit records (each message's first decision carries one): one per message ingested. */
async function received(hub: HubProcess): Promise<number> {
  const body = (await (await fetch(`${hub.url}/api/v1/audit?system=erp&limit=10000`, { headers: admin })).json()) as {
    records: { kind: string; details: { received?: unknown } }[];
  };
  return body.records.filter((record) => record.kind === 'received' || record.details.received !== undefined).length;
}

async function publish(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 1) {
    await publisher!.publishAsync('erp/orders', orderEnvelopeJson(`PO-LEASE-${i}`, { version: 1 }), { qos: 1 });
  }
}

it('runs the inbound side in one api process and moves it when that process is killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-scale-lease-'));
  const configFile = join(dir, 'hub.yaml');
  writeFileSync(
    configFile,
    `systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
connectors:
  - id: erp-broker
    kind: mqtt
    config:
      url: "${broker.url}"
      clientId: handover-erp
      system: erp
      protocolVersion: ${broker.protocolVersion}
      subscriptions: [{ topic: erp/orders, format: json }]
routes: []
`,
  );
  const apis = await Promise.all([topology.start('api', configFile), topology.start('api', configFile)]);
  await topology.start('worker', configFile);
  publisher = await plainClient(broker.url, broker.protocolVersion);

  // Exactly one leads, both name it, and it has subscribed.
  const views = await waitFor(
    async () => {
      const both = await Promise.all(apis.map(view));
      return both.some((v) => v.inbound?.role === 'leader' && v.health.status === 'up') ? both : undefined;
    },
    30000,
    'a leader subscribed',
  );
  expect(views.map((v) => v.inbound?.role).sort()).toEqual(['leader', 'standby']);
  expect(new Set(views.map((v) => v.inbound?.leader)).size).toBe(1);
  const leaderIndex = views.findIndex((v) => v.inbound?.role === 'leader');
  const leader = apis[leaderIndex]!;
  const standby = apis[1 - leaderIndex]!;

  // Two clients with one client id would knock each other off: neither process may report it down.
  const downs: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const v of await Promise.all(apis.map(view)))
        if (v.health.status !== 'up') downs.push(v.health.detail ?? '');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await publish(0, 10);
  await waitFor(async () => (await received(standby)) >= 10, 30000, 'ten messages ingested');
  // Long enough for a second subscriber's copies to have arrived, had there been one.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  sampling = false;
  await sampler;
  expect(await received(standby)).toBe(10);
  expect(downs).toEqual([]);

  await topology.kill(leader);
  const killedAt = Date.now();
  await waitFor(
    async () => {
      const v = await view(standby);
      return v.inbound?.role === 'leader' && v.health.status === 'up';
    },
    30000,
    'the standby leading and subscribed',
  );
  // Lease ttl (10 s) plus a standby's retry and a connect: generous, a liveness bound only.
  expect(Date.now() - killedAt).toBeLessThan(25000);

  await publish(10, 20);
  await waitFor(async () => (await received(standby)) >= 20, 30000, 'ten more messages ingested');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(await received(standby)).toBe(20);
}, 90000);
