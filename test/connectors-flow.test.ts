/**
 * A connector inside the running hub: the hub runs the OPC UA connector its configuration lists,
 * a real OPC UA server's fault code becomes a signal message of `scada`, and the scada mapping
 * turns it into an accepted DowntimeEvent.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { freePort, nodeIdOf, startTestServer, type TestServer } from '../connectors/opcua/test-server';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { waitFor } from './support/http-target';
import { repoRoot } from './support/paths';

let server: TestServer;
let hub: RunningHub;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-opcua-flow-'));
  server = await startTestServer(await freePort(), join(dir, 'pki'));
  const config = parseConfig(`
systems:
  - { id: scada, name: Line PLC, processOwner: Production, technicalOwner: Automation }
ownership:
  DowntimeEvent: { owner: scada }
connectors:
  - id: line1-plc
    kind: opcua
    config:
      endpointUrl: ${server.endpointUrl}
      system: scada
      samplingIntervalMs: 50
      publishingIntervalMs: 100
      signals:
        - { nodeId: "${nodeIdOf('FaultCode')}", equipmentId: FILLER-01, signal: faultCode }
        - { nodeId: "${nodeIdOf('Counter')}", equipmentId: FILLER-01, signal: count }
`);
  hub = await startHub({
    config,
    dataDir: join(dir, 'hub'),
    mappingsDir: join(repoRoot, 'mappings'),
    env: { HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
}, 60000);

afterAll(async () => {
  await hub?.stop();
  await server?.shutdown();
});

it('turns a PLC fault code into an accepted DowntimeEvent through the scada mapping', async () => {
  const api = request(hub.url!);
  const admin = (path: string) => api.get(path).set('authorization', 'Bearer admin-token');
  await waitFor(
    async () => (await admin('/api/v1/connectors')).body.connectors?.[0]?.health.status === 'up',
    30000,
    'connector up',
  );
  expect(
    (await api.post('/api/v1/connectors/line1-plc/test').set('authorization', 'Bearer admin-token')).body,
  ).toMatchObject({ ok: true });

  server.set('Counter', 118);
  server.set('FaultCode', 'E042');
  const audit = await waitFor(
    async () => {
      const records = (await admin('/api/v1/audit?type=DowntimeEvent&decision=accepted')).body.records as Array<{
        objectKey: string;
      }>;
      return records.length > 0 ? records : undefined;
    },
    30000,
    'downtime event accepted',
  );
  const event = (await admin(`/api/v1/objects/DowntimeEvent/${audit[0]!.objectKey}`)).body;
  expect(event).toMatchObject({
    owner: 'scada',
    data: { equipmentId: 'FILLER-01', reasonCode: 'E042', equipmentLevel: 'WorkUnit' },
  });
  // The decision's record says how the message came in: the mapping that made the event.
  const records = (await admin('/api/v1/audit?system=scada')).body.records as Array<{
    kind: string;
    details: { received?: { mapping?: string } };
  }>;
  expect(
    records.some((record) => record.kind === 'decision' && record.details.received?.mapping === 'scada-signal@1'),
  ).toBe(true);
}, 90000);
