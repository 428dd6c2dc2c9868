/**
 * The context engine fed by Sparkplug B through a real broker: the capper's edge node publishes its
 * PackML state, mode, counters and stop reason as device metrics; the hub's MQTT connector binds
 * them to CAPPER-01's signals and hands each Sparkplug message's bound metrics to the engine as one
 * message. A running order, counts across a counter rollover, a stop with its reason, an unknown stop
 * reasoned later, a micro-stop, a PLC restart and three cap feed jams in 30 minutes become
 * DowntimeEvents and ProductionConfirmations at MES and one MaintenanceRequest at the CMMS.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import request from 'supertest';
import { encodeSparkplug, type WireMetric } from '../connectors/mqtt/sparkplug-codec';
import { startTestBroker, type TestBroker } from '../connectors/mqtt/test-broker';
import { plainClient } from '../connectors/mqtt/test-support';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { shiftsBetween } from '../hub/context-engine/shifts';
import { SignalBundler } from '../hub/pipeline/signal-bundle';
import { lineOrder } from './support/context';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { repoRoot } from './support/paths';

const GROUP = 'packaging';
const EDGE = 'line1';
const DEVICE = 'capper';
/** Device metrics, their Sparkplug aliases and the CAPPER-01 signals they are bound to. */
const METRICS = [
  { name: 'State', alias: 1, signal: 'state' },
  { name: 'Mode', alias: 2, signal: 'mode' },
  { name: 'GoodCount', alias: 3, signal: 'goodCount' },
  { name: 'RejectCount', alias: 4, signal: 'rejectCount' },
  { name: 'StopReason', alias: 5, signal: 'stopReason' },
];

let broker: TestBroker;
let hub: RunningHub;
let target: HttpTarget;
let edge: MqttClient;
/** Event time: every metric is stamped from here on, ahead of the wall clock the engine's clock follows. */
let t0: number;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-context-mqtt-'));
  broker = await startTestBroker();
  target = await startHttpTarget();
  const bindings = METRICS.map(
    (m) => `{ node: ${GROUP}/${EDGE}/${DEVICE}, metric: ${m.name}, equipmentId: CAPPER-01, signal: ${m.signal} }`,
  );
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: scada, name: Line edge nodes, processOwner: Production, technicalOwner: Automation }
  - { id: line-context, name: Context engine, processOwner: Production, technicalOwner: IT }
  - { id: cmms, name: CMMS, processOwner: Maintenance, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
  DowntimeEvent: { owner: line-context }
  ProductionConfirmation: { owner: line-context }
  MaintenanceRequest: { owner: line-context }
connectors:
  - id: plant-broker
    kind: mqtt
    config:
      url: ${broker.url}
      clientId: handover-context-mqtt
      protocolVersion: ${broker.protocolVersion}
      system: scada
      subscriptions: [{ topic: 'spBv1.0/${GROUP}/#', format: sparkplug }]
      signals:
${bindings.map((binding) => `        - ${binding}`).join('\n')}
routes:
  - { id: context-to-mes, target: mes, types: [DowntimeEvent, ProductionConfirmation], url: "${target.url}/handover" }
  - { id: requests-to-cmms, target: cmms, types: [MaintenanceRequest], format: mapped, url: "${target.url}/maximo/sr" }
`);
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  config.context = { ...seed.context!, reasonEditors: [] };
  hub = await startHub({
    config,
    dataDir: join(dir, 'hub'),
    mappingsDir: join(repoRoot, 'mappings'),
    env: { HANDOVER_ADMIN_TOKEN: 'admin-token', HANDOVER_TOKEN_ERP: 'erp-token' },
    logger: pino({ level: 'silent' }),
  });
  edge = await plainClient(broker.url, broker.protocolVersion);
  // Ahead of the wall clock, and the whole timeline (about 40 minutes) inside one shift and clear of
  // its break: a stop across a shift change is split there (and was, when the suite ran at 21:55 Berlin).
  const { timeZone, shifts } = config.context;
  const inOneShift = (start: number) => {
    const windows = shiftsBetween(timeZone, shifts, start - 60_000, start + 2_400_000);
    return (
      windows.length === 1 &&
      windows[0]!.breaks.every((pause) => pause.end <= start - 60_000 || pause.start >= start + 2_400_000)
    );
  };
  t0 = Date.now() + 60_000;
  while (!inOneShift(t0)) t0 += 600_000;
}, 60000);

afterAll(async () => {
  await edge?.endAsync();
  await hub?.stop();
  await target?.close();
  await broker?.close();
});

const api = () => request(hub.url!);
const admin = (path: string) => api().get(path).set('authorization', 'Bearer admin-token');

let seq = 0;
let bdSeq = 0;

/** Publishes one Sparkplug message of the line's edge node (the capper device unless `node`). */
async function publish(type: string, metrics: WireMetric[], timestamp: number, node = false): Promise<void> {
  const topic = `spBv1.0/${GROUP}/${type}/${EDGE}${node ? '' : `/${DEVICE}`}`;
  const payload = { timestamp, metrics, ...(type === 'NDEATH' ? {} : { seq }) };
  if (type !== 'NDEATH') seq = (seq + 1) % 256;
  await edge.publishAsync(topic, Buffer.from(encodeSparkplug(payload)), { qos: 1 });
}

/** The node's and the capper's births, with every metric's value at `seconds` after t0. */
async function birth(seconds: number, values: Record<string, number>): Promise<void> {
  seq = 0;
  const at = t0 + seconds * 1000;
  await publish('NBIRTH', [{ name: 'bdSeq', type: 'Int64', value: bdSeq, timestamp: at }], at, true);
  await publish(
    'DBIRTH',
    METRICS.map((m) => ({ name: m.name, alias: m.alias, type: 'Int32', value: values[m.name] ?? 0, timestamp: at })),
    at,
  );
}

/** The capper's metrics that changed at `seconds` after t0, by alias as an edge node sends them. */
function data(seconds: number, values: Record<string, number>): Promise<void> {
  const at = t0 + seconds * 1000;
  const metrics = Object.entries(values).map(([name, value]) => ({
    alias: METRICS.find((m) => m.name === name)!.alias,
    type: 'Int32',
    value,
    timestamp: at,
  }));
  return publish('DDATA', metrics, at);
}

interface Envelope {
  type: string;
  objectKey: string;
  version: number;
  document: Record<string, unknown>;
}

const atMes = () => target.received.filter((r) => r.path === '/handover').map((r) => JSON.parse(r.body) as Envelope);

/** The newest revision MES received of each DowntimeEvent that has ended. */
function stops(): Record<string, unknown>[] {
  const newest = new Map<string, Envelope>();
  for (const envelope of atMes().filter((e) => e.type === 'DowntimeEvent'))
    if ((newest.get(envelope.objectKey)?.version ?? 0) < envelope.version) newest.set(envelope.objectKey, envelope);
  return [...newest.values()].map((e) => e.document).filter((document) => document['endTime']);
}

function goodCounted(): number {
  return atMes()
    .filter((e) => e.type === 'ProductionConfirmation')
    .flatMap(
      (e) =>
        (
          e.document['segments'] as Array<{ materials: Array<{ disposition: string; quantity: { value: string } }> }>
        )[0]!.materials,
    )
    .filter((material) => material.disposition === 'Good')
    .reduce((sum, material) => sum + Number(material.quantity.value), 0);
}

const id = (seconds: number) =>
  `DT-CAPPER-01-${new Date(t0 + seconds * 1000).toISOString().replace(/[-:]|\.\d+/g, '')}`;

it('books the capper’s Sparkplug metrics as downtime, counts and one maintenance request', async () => {
  await waitFor(async () => (await admin('/api/v1/connectors')).body.connectors?.[0]?.health.status === 'up', 30000);
  const posted = await api()
    .post('/api/v1/inbound/erp')
    .set('authorization', 'Bearer erp-token')
    .set('content-type', 'application/json')
    .send(
      JSON.stringify(
        lineOrder({
          id: 'PO-9',
          state: 'Running',
          sourceSystem: 'erp',
          occurredAt: new Date(t0 - 30_000).toISOString(),
          processSegmentId: 'CAP',
        }),
      ),
    );
  expect(posted.status).toBe(202);
  await waitFor(async () => (await admin('/api/v1/equipment/CAPPER-01/state')).body.runningOrder?.orderId === 'PO-9');

  // Running; the birth's counter values are the baseline.
  await birth(0, { State: 6, Mode: 1, GoodCount: 65000 });
  await data(60, { GoodCount: 65500 }); // +500
  await data(120, { GoodCount: 100 }); // rollover at 65 536: +136
  // A cap feed jam: the reason comes with the stop.
  await data(180, { StopReason: 17, State: 2 });
  await data(480, { State: 6, StopReason: 0 });
  // A stop without a reason, reasoned later by an operator.
  await data(600, { State: 2 });
  await data(900, { State: 6, GoodCount: 400 }); // +300
  // A micro-stop: 60 s, no reason.
  await data(1000, { State: 2 });
  await data(1060, { State: 6 });
  // Two more cap feed jams within 30 minutes of the first: one MaintenanceRequest.
  await data(1200, { StopReason: 17, State: 2 });
  await data(1260, { State: 6, StopReason: 0 });
  await data(1400, { StopReason: 17, State: 2 });
  await data(1460, { State: 6, StopReason: 0, GoodCount: 500 }); // +100
  // The PLC restarts: the node dies and is born again with its counters at 0, a drop no rollover
  // explains at the counter's plausible rate, so nothing is booked for it.
  await publish('NDEATH', [{ name: 'bdSeq', type: 'Int64', value: bdSeq }], t0 + 1500_000, true);
  bdSeq += 1;
  await birth(1510, { State: 6, Mode: 1, GoodCount: 0 });
  await data(1600, { GoodCount: 50 }); // +50
  await data(1700, { GoodCount: 60 }); // +10, and the last minute's count booked later
  await data(1900, { State: 6 });

  await waitFor(() => goodCounted() >= 1096 && stops().length >= 5, 30000, 'the stops and counts at MES');
  expect(goodCounted()).toBe(500 + 136 + 300 + 100 + 50 + 10);
  const byId = new Map(stops().map((stop) => [stop['id'], stop]));
  expect(byId.get(id(180))).toMatchObject({
    reasonCode: '17',
    reason: 'Cap feed jam',
    durationSeconds: 300,
    orderId: 'PO-9',
  });
  expect(byId.get(id(600))).toMatchObject({ reasonCode: 'Unknown', stopKind: 'stop', durationSeconds: 300 });
  expect(byId.get(id(1000))).toMatchObject({ stopKind: 'microStop', lossCategory: 'performance', durationSeconds: 60 });
  expect(byId.size).toBe(5);
  // Each Sparkplug message's bound metrics reached the engine together, as one message (the births'
  // and deaths of the node, and unbound metrics such as bdSeq, are not emitted): 17 device messages.
  const [count] = await hub.context.db.query<{ messages: number }>(
    "SELECT COUNT(*) AS messages FROM messages WHERE system = 'scada'",
  );
  expect(Number(count?.messages)).toBeLessThanOrEqual(17);
  expect(await hub.context.db.query('SELECT code FROM dead_letters')).toEqual([]);

  // The operator gives the unknown stop its reason: MES receives the corrected revision.
  const corrected = await api()
    .post(`/api/v1/downtime/${id(600)}/reason`)
    .set('authorization', 'Bearer admin-token')
    .send({ reasonCode: '30', comment: 'no caps delivered' });
  expect(corrected.status).toBe(202);
  await waitFor(() => stops().find((stop) => stop['id'] === id(600))?.['reasonCode'] === '30', 30000, 'the correction');

  const requests = await waitFor(
    async () => {
      const received = target.received.filter((r) => r.path === '/maximo/sr');
      return received.length > 0 ? received : undefined;
    },
    30000,
    'the maintenance request at the CMMS',
  );
  expect(requests).toHaveLength(1);
  expect(JSON.parse(requests[0]!.body)).toMatchObject({ assetnum: 'CAPPER-01' });
}, 120000);

it('bundles the signal messages connectors emit in one turn into one message, in order, and keeps other payloads apart', async () => {
  const bundler = new SignalBundler(hub.context);
  const signal = (seconds: number, value: number) => ({
    system: 'scada',
    contentType: 'json' as const,
    body: JSON.stringify({
      kind: 'signal',
      equipmentId: 'LABELER-01',
      signal: 'goodCount',
      value,
      quality: 'good',
      sourceTimestamp: new Date(t0 + seconds * 1000).toISOString(),
    }),
  });
  const ids = await Promise.all([
    bundler.emit(signal(10, 1)),
    bundler.emit(signal(11, 2)),
    // Not a signal message: the signals before it go first, as a bundle of their own.
    bundler.emit({ system: 'scada', contentType: 'json', body: '{"kind":"lifecycle"}' }),
    bundler.emit(signal(12, 3)),
  ]);
  expect(new Set(ids).size).toBe(3);
  expect(ids[0]).toBe(ids[1]);
  const body = async (messageId: string) =>
    waitFor(async () => {
      const [row] = await hub.context.db.query<{ body: string }>('SELECT body FROM payloads WHERE message_id = $1', [
        messageId,
      ]);
      return row?.body;
    });
  const values = (text: string) => (JSON.parse(text) as Array<{ value: number }>).map((s) => s.value);
  expect(values(await body(ids[0]!))).toEqual([1, 2]);
  expect(values(await body(ids[3]!))).toEqual([3]);
  const seqs = await hub.context.db.query<{ id: string; received_seq: number }>(
    'SELECT id, received_seq FROM messages WHERE id IN ($1, $2, $3)',
    [ids[0], ids[2], ids[3]],
  );
  const seqOf = (messageId: string) => Number(seqs.find((row) => row.id === messageId)!.received_seq);
  expect(seqOf(ids[0]!)).toBeLessThan(seqOf(ids[2]!));
  expect(seqOf(ids[2]!)).toBeLessThan(seqOf(ids[3]!));
});
