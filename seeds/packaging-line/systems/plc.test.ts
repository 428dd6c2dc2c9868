/**
 * The PLC line as the demo runs it, the built program (`npm run build` first), against a real MQTT
 * broker and read with node-opcua's client: its Sparkplug births, data, rebirth, restart and death,
 * the filler's OPC UA values in plant time, an order downloaded as the hub delivers it, run to its
 * quantity and ended, and figures that add up to what its tags tell a reader.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import {
  AttributeIds,
  OPCUACertificateManager,
  OPCUAClient,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
} from 'node-opcua';
import { decodeSparkplug, rebirthCommand, type PlainPayload } from '../../../connectors/mqtt/sparkplug-codec';
import { startTestBroker, type TestBroker } from '../../../connectors/mqtt/test-broker';
import { plainClient } from '../../../connectors/mqtt/test-support';
import { freePort } from '../../../hub/net';
import { waitFor } from '../../../test/support/http-target';
import { repoRoot } from '../../../test/support/paths';
import { PlantClock } from './common';
import { restartPlan } from './plc-plan';
import { atFraction } from './scenario';

const SPEED = 480;
const HOURS = 1;
const TAGS = ['State', 'Mode', 'GoodCount', 'RejectCount', 'StopReason'] as const;

interface Received {
  type: string;
  device?: string;
  payload: PlainPayload;
}

let broker: TestBroker;
let watcher: MqttClient;
let plc: ChildProcess;
let client: OPCUAClient;
let session: ClientSession;
let url: string;
let clock: PlantClock;
const received: Received[] = [];
const filler: { tag: string; value: number; at: number }[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-plc-'));
  broker = await startTestBroker();
  watcher = await plainClient(broker.url, broker.protocolVersion);
  watcher.on('message', (topic, payload) => {
    const [, , type, , device] = topic.split('/');
    received.push({ type: type!, ...(device ? { device } : {}), payload: decodeSparkplug(payload) });
  });
  await watcher.subscribeAsync('spBv1.0/packaging/#', { qos: 1 });
  const [port, opcuaPort] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${port}`;
  // Plant time runs 10 hours behind the wall clock, as in the demo; the shift starts 5 s from now.
  const wallStart = Date.now() + 5000;
  clock = new PlantClock(Date.now() - 10 * 3_600_000, wallStart, SPEED, HOURS);
  const out = openSync(join(dir, 'plc.log'), 'a');
  plc = spawn(process.execPath, [join(repoRoot, 'dist', 'seeds', 'packaging-line', 'systems', 'plc.js')], {
    env: {
      ...process.env,
      DEMO_PORT: String(port),
      DEMO_DATA_DIR: join(dir, 'plc'),
      HUB_URL: 'http://127.0.0.1:1',
      HUB_TOKEN: '',
      PLANT_START: String(clock.plantStart),
      WALL_START: String(wallStart),
      PLANT_SPEED: String(SPEED),
      PLANT_HOURS: String(HOURS),
      DEMO_OPCUA_PORT: String(opcuaPort),
      DEMO_MQTT_URL: broker.url,
    },
    stdio: ['ignore', out, out],
  });
  await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok, 30000, 'the PLC up');
  client = OPCUAClient.create({
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 3, initialDelay: 100 },
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(dir, 'client-pki'), keySize: 2048 }),
  });
  await client.connect(`opc.tcp://127.0.0.1:${opcuaPort}`);
  session = await client.createSession();
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 50,
    requestedMaxKeepAliveCount: 20,
    requestedLifetimeCount: 1000,
    publishingEnabled: true,
  });
  const group = await subscription.monitorItems(
    TAGS.map((tag) => ({ nodeId: `ns=1;s=Line1.Filler.${tag}`, attributeId: AttributeIds.Value })),
    { samplingInterval: 0, queueSize: 1000, discardOldest: true },
    TimestampsToReturn.Both,
  );
  group.on('changed', (_item, value: DataValue, index: number) =>
    filler.push({ tag: TAGS[index]!, value: Number(value.value.value), at: value.sourceTimestamp!.getTime() }),
  );
}, 60000);

afterAll(async () => {
  await session?.close().catch(() => undefined);
  await client?.disconnect();
  if (plc && plc.exitCode === null) {
    plc.kill('SIGTERM');
    await new Promise((resolve) => plc.once('exit', resolve));
  }
  await watcher?.endAsync();
  await broker?.close();
});

const post = async (path: string, body?: unknown, revision?: number) => {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(revision === undefined ? {} : { 'x-handover-object-revision': String(revision) }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const get = async <T>(path: string) => (await (await fetch(`${url}${path}`)).json()) as T;
/** The scada-order-download mapping's output, with the order's state. */
const download = (state: string, targetCount: string) => ({
  orderId: 'PO-T1',
  line: 'PACK-L1',
  product: 'FG-500',
  targetCount,
  unit: 'CS',
  release: state === 'Released' || state === 'Running',
  state,
});
const metric = (r: Received, name: string) => r.payload.metrics.find((m) => m.name === name)?.value;
const births = () => received.filter((r) => r.type === 'NBIRTH');

/** A device's counter as a reader counts it: rises between readings, a drop (the restart) a new baseline. */
function counted(device: string, alias: number, name: string): number {
  let last: number | undefined;
  let total = 0;
  for (const r of received.filter((m) => m.device === device && (m.type === 'DBIRTH' || m.type === 'DDATA'))) {
    const entry = r.payload.metrics.find((m) => m.name === name || m.alias === alias);
    if (!entry) continue;
    const value = Number(entry.value);
    if (last !== undefined && value >= last) total += value - last;
    last = value;
  }
  return total;
}

it('runs a downloaded order on its tags in plant time, restarts its edge node and adds up its figures', async () => {
  // Born on the broker: the node with bdSeq, each device with its PackML metrics, Idle.
  await waitFor(() => received.filter((r) => r.type === 'DBIRTH').length >= 3, 10000, 'the births');
  const bdSeq = Number(metric(births()[0]!, 'bdSeq'));
  const capperBirth = received.find((r) => r.type === 'DBIRTH' && r.device === 'capper')!;
  expect(capperBirth.payload.metrics.map((m) => [m.name, m.alias, m.value])).toEqual([
    ['State', 1, 4],
    ['Mode', 2, 1],
    ['GoodCount', 3, 0],
    ['RejectCount', 4, 0],
    ['StopReason', 5, 0],
  ]);

  // The order download: Released runs nothing; the same revision twice changes nothing.
  expect((await post('/orders', download('Released', '40'), 1)).body).toMatchObject({ applied: true });
  expect((await post('/orders', download('Released', '40'), 1)).body).toMatchObject({ applied: false });
  expect((await post('/orders', { targetCount: '40' })).status).toBe(400);
  await clock.until(atFraction(clock, 0.04));
  expect((await get<{ units: Record<string, { State: number }> }>('/line')).units['FILLER-01']!.State).toBe(4);
  expect((await post('/orders', download('Running', '40'), 2)).body).toMatchObject({ applied: true });

  // The case packer reaches 40 cases: Complete; the hub's next revision ends the order: Idle.
  await waitFor(
    async () => (await get<{ units: Record<string, { State: number }> }>('/line')).units['CASEPACKER-01']!.State === 17,
    20000,
    'the order complete',
  );
  expect((await post('/orders', download('Completed', '40'), 3)).body).toMatchObject({ applied: true });
  await waitFor(
    async () => (await get<{ units: Record<string, { State: number }> }>('/line')).units['CASEPACKER-01']!.State === 4,
    5000,
    'the line idle',
  );

  // A host asks for a rebirth: the same bdSeq, seq from 0.
  await watcher.publishAsync('spBv1.0/packaging/NCMD/line1', Buffer.from(rebirthCommand()), { qos: 0 });
  await waitFor(() => births().length >= 2, 5000, 'the rebirth');
  expect(Number(metric(births()[1]!, 'bdSeq'))).toBe(bdSeq);
  expect(births()[1]!.payload.seq).toBe(0);

  // The planned restart: NDEATH of this bdSeq, then a birth with the next one and the counters at 0.
  await clock.until(restartPlan(clock).at + restartPlan(clock).downMs);
  await waitFor(() => births().length >= 3, 10000, 'the birth after the restart');
  const death = received.find((r) => r.type === 'NDEATH')!;
  expect(Number(metric(death, 'bdSeq'))).toBe(bdSeq);
  expect(Number(metric(births()[2]!, 'bdSeq'))).toBe((bdSeq + 1) % 256);
  const afterRestart = received.slice(received.indexOf(births()[2]!));
  expect(afterRestart.find((r) => r.type === 'DBIRTH' && r.device === 'casepacker')!.payload.metrics).toEqual(
    expect.arrayContaining([expect.objectContaining({ name: 'GoodCount', value: 0 })]),
  );

  // Sequence numbers: NBIRTH 0, then one more per message, wrapping at 256.
  let expected: number | undefined;
  for (const message of received.filter((r) => r.type !== 'NCMD')) {
    if (message.type === 'NDEATH') expected = undefined;
    else if (message.type === 'NBIRTH') {
      expect(message.payload.seq).toBe(0);
      expected = 1;
    } else {
      expect(message.payload.seq).toBe(expected);
      expected = (message.payload.seq! + 1) % 256;
    }
  }

  // Every value is stamped in plant time (10 hours behind the wall clock), not in wall time.
  const stamps = [
    ...received
      .filter((r) => r.type !== 'NCMD')
      .flatMap((r) =>
        [r.payload.timestamp, ...r.payload.metrics.map((m) => m.timestamp)].map((t) => Date.parse(t ?? '')),
      ),
    ...filler.map((f) => f.at),
  ];
  expect(Math.max(...stamps)).toBeLessThan(Date.now() - 9 * 3_600_000);
  expect(Math.max(...stamps)).toBeLessThanOrEqual(clock.now());

  // The figures: the order's counts are what the tags tell a reader, and 40 cases at the case packer.
  await clock.until(clock.end + 60_000);
  const figures = await get<{
    system: string;
    units: Record<string, { byOrder: Record<string, { good: number; reject: number }>; stops: unknown[] }>;
  }>('/figures');
  expect(figures.system).toBe('scada');
  expect(figures.units['CASEPACKER-01']!.byOrder['PO-T1']!.good).toBe(40);
  const devices = { 'CAPPER-01': ['capper', 0], 'LABELER-01': ['labeler', 10], 'CASEPACKER-01': ['casepacker', 20] };
  for (const [unit, [device, base]] of Object.entries(devices) as [string, [string, number]][]) {
    expect(counted(device, base + 3, 'GoodCount')).toBe(figures.units[unit]!.byOrder['PO-T1']!.good);
    expect(counted(device, base + 4, 'RejectCount')).toBe(figures.units[unit]!.byOrder['PO-T1']!.reject);
  }
  const goods = filler.filter((f) => f.tag === 'GoodCount').map((f) => f.value);
  let fillerGood = 0;
  for (let i = 1; i < goods.length; i += 1) fillerGood += (goods[i]! - goods[i - 1]! + 65_536) % 65_536;
  expect(fillerGood).toBe(figures.units['FILLER-01']!.byOrder['PO-T1']!.good);
  expect(goods[0]).toBeGreaterThan(65_000);

  // The demo's proof that a difference is caught: one more case at the case packer.
  expect((await post('/control/corrupt')).body).toEqual({
    changed: { unit: 'CASEPACKER-01', orderId: 'PO-T1', good: { before: 40, after: 41 } },
  });

  // Stopped: a clean NDEATH.
  const deaths = received.filter((r) => r.type === 'NDEATH').length;
  plc.kill('SIGTERM');
  await new Promise((resolve) => plc.once('exit', resolve));
  await waitFor(() => received.filter((r) => r.type === 'NDEATH').length > deaths, 5000, 'the last NDEATH');
}, 60000);
