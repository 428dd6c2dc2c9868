/**
 * The context engine fed the way a plant feeds it: a real node-opcua server stands in for the filler's
 * PLC, the hub's OPC UA connector subscribes to its PackML state, mode, counters and stop reason, and
 * the engine books a stop with its reason and the counts of the running order.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { freePort, nodeIdOf, startTestServer, type TestServer } from '../connectors/opcua/test-server';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { lineOrder } from './support/context';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { repoRoot } from './support/paths';

let server: TestServer;
let hub: RunningHub;
let target: HttpTarget;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-context-opcua-'));
  server = await startTestServer(await freePort(), join(dir, 'pki'));
  target = await startHttpTarget();
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: scada, name: Line PLC, processOwner: Production, technicalOwner: Automation }
  - { id: line-context, name: Context engine, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
  DowntimeEvent: { owner: line-context }
  ProductionConfirmation: { owner: line-context }
connectors:
  - id: line1-plc
    kind: opcua
    config:
      endpointUrl: ${server.endpointUrl}
      system: scada
      samplingIntervalMs: 50
      publishingIntervalMs: 100
      signals:
        - { nodeId: "${nodeIdOf('State')}", equipmentId: FILLER-01, signal: state }
        - { nodeId: "${nodeIdOf('Mode')}", equipmentId: FILLER-01, signal: mode }
        - { nodeId: "${nodeIdOf('GoodCount')}", equipmentId: FILLER-01, signal: goodCount }
        - { nodeId: "${nodeIdOf('RejectCount')}", equipmentId: FILLER-01, signal: rejectCount }
        - { nodeId: "${nodeIdOf('StopReason')}", equipmentId: FILLER-01, signal: stopReason }
routes:
  - { id: context-out, target: erp, types: [DowntimeEvent, ProductionConfirmation], url: "${target.url}/handover" }
`);
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  // Counts per second, and a clock that books them while the line is silent, within the test's time.
  config.context = {
    ...seed.context!,
    reasonEditors: [],
    countEverySeconds: 1,
    latenessSeconds: 1,
    clockEverySeconds: 0.5,
  };
  hub = await startHub({
    config,
    dataDir: join(dir, 'hub'),
    mappingsDir: join(repoRoot, 'mappings'),
    env: { HANDOVER_ADMIN_TOKEN: 'admin-token', HANDOVER_TOKEN_ERP: 'erp-token' },
    logger: pino({ level: 'silent' }),
  });
}, 60000);

afterAll(async () => {
  await hub?.stop();
  await target?.close();
  await server?.shutdown();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('books a PLC stop with its reason and the counts of the running order', async () => {
  const api = request(hub.url!);
  const admin = (path: string) => api.get(path).set('authorization', 'Bearer admin-token');
  await waitFor(async () => (await admin('/api/v1/connectors')).body.connectors?.[0]?.health.status === 'up', 30000);
  // ERP releases the order straight to Running on the line (ERP owns the state in this plant).
  const posted = await api
    .post('/api/v1/inbound/erp')
    .set('authorization', 'Bearer erp-token')
    .set('content-type', 'application/json')
    .send(
      JSON.stringify(
        lineOrder({
          id: 'PO-7',
          state: 'Running',
          sourceSystem: 'erp',
          occurredAt: new Date(Date.now() - 60_000).toISOString(),
          processSegmentId: 'FILL',
        }),
      ),
    );
  expect(posted.status).toBe(202);
  await waitFor(async () => (await admin('/api/v1/equipment/FILLER-01/state')).body.runningOrder?.orderId === 'PO-7');

  server.set('State', 6);
  server.set('GoodCount', 5);
  await waitFor(async () => (await admin('/api/v1/equipment/FILLER-01/state')).body.state?.name === 'Execute');
  await pause(300);
  server.set('GoodCount', 10);
  server.set('RejectCount', 3);
  await pause(300);
  server.set('StopReason', 30);
  server.set('State', 11);
  await waitFor(async () => (await admin('/api/v1/equipment/FILLER-01/state')).body.openStop?.reasonCode === '30');
  await pause(1200);
  server.set('State', 6);
  server.set('StopReason', 0);
  await pause(1200);
  server.set('GoodCount', 15);

  const documents = () =>
    target.received.map(
      (r) => JSON.parse(r.body) as { type: string; objectKey: string; document: Record<string, unknown> },
    );
  const stop = await waitFor(
    async () =>
      documents().find((e) => e.type === 'DowntimeEvent' && e.document['endTime'] && e.document['reasonCode'] === '30')
        ?.document,
    30000,
    'the stop closed',
  );
  expect(stop).toMatchObject({
    equipmentId: 'FILLER-01',
    reasonCode: '30',
    reason: 'Material shortage',
    lossCategory: 'availability',
    stopKind: 'stop',
    orderId: 'PO-7',
  });
  expect(stop['durationSeconds']).toBeGreaterThan(0.5);
  const counted = await waitFor(
    async () => {
      const good = documents()
        .filter((e) => e.type === 'ProductionConfirmation')
        .flatMap(
          (e) =>
            (
              e.document['segments'] as Array<{
                materials: Array<{ disposition: string; quantity: { value: string } }>;
              }>
            )[0]!.materials,
        )
        .filter((m) => m.disposition === 'Good')
        .reduce((sum, m) => sum + Number(m.quantity.value), 0);
      return good >= 15 ? good : undefined;
    },
    30000,
    'counts booked',
  );
  // The counter's first value (0, read at connect) is the baseline; 0 → 15 is booked once.
  expect(counted).toBe(15);
}, 90000);
