/**
 * The demo's ERP and MES as the demo runs them — built processes (`npm run build` first) against a
 * real hub with the seed's systems, ownership and routes — through a shortened shift: ERP releases
 * both orders, changes order A and re-sends its versions late and twice; WMS's stagings (posted here
 * as wms) let MES start each order; the context engine's case-packer confirmations (posted to MES
 * here, as the hub delivers them) make MES book per shift, make pallet lots and complete each order
 * with its consumptions; ERP books them as WMMBXY goods movements and keeps the orders' state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../../hub/config/load';
import { startHub, type RunningHub } from '../../../hub/hub';
import { startHttpTarget, waitFor, type HttpTarget } from '../../../test/support/http-target';
import { repoRoot } from '../../../test/support/paths';
import { STARTING_STOCK } from './erp-store';
import { BOM, plannedOrders } from './scenario';

const PLANT_START = Date.parse('2026-12-01T12:50:00Z'); // 13:50 in Berlin: the late shift begins 10 plant minutes in
const SPEED = 180; // a plant hour in 20 wall seconds
const HOURS = 1;
const tokens = { erp: 'erp-token', mes: 'mes-token', wms: 'wms-token', qms: 'qms-token' };
const [orderA, orderB] = plannedOrders(HOURS) as [
  ReturnType<typeof plannedOrders>[0],
  ReturnType<typeof plannedOrders>[0],
];
const A = orderA.orderId;
const B = orderB.orderId;

let hub: RunningHub;
let others: HttpTarget;
let wallStart: number;
const children: ChildProcess[] = [];
const ports = { erp: 0, mes: 0 };

const plantNow = () => PLANT_START + (Date.now() - wallStart) * SPEED;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The seed's configuration (systems, ownership, context, routes) with ERP and MES on this test's ports. */
function config(): string {
  const seed = parse(readFileSync(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'), 'utf8')) as {
    connectors?: unknown;
    routes: Array<{ target: string; url: string }>;
  };
  delete seed.connectors;
  for (const route of seed.routes) {
    const path = new URL(route.url).pathname;
    route.url =
      route.target === 'erp' || route.target === 'mes'
        ? `http://127.0.0.1:${ports[route.target]}${path}`
        : `${others.url}${path}`;
  }
  return stringify(seed);
}

function start(system: 'erp' | 'mes', dir: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist', 'seeds', 'packaging-line', 'systems', `${system}.js`)],
    {
      env: {
        ...process.env,
        DEMO_PORT: String(ports[system]),
        DEMO_DATA_DIR: join(dir, system),
        HUB_URL: hub.url!,
        HUB_TOKEN: tokens[system],
        PLANT_START: String(PLANT_START),
        WALL_START: String(wallStart),
        PLANT_SPEED: String(SPEED),
        PLANT_HOURS: String(HOURS),
      },
      // Each system's log lines stay in the run's directory, as the demo keeps them.
      stdio: ['ignore', openSync(join(dir, `${system}.log`), 'a'), 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${system}] ${chunk.toString()}`));
  children.push(child);
  return child;
}

const admin = async (path: string) => {
  const response = await fetch(`${hub.url}${path}`, { headers: { authorization: 'Bearer admin-token' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { data?: never } };
};
const figures = async (system: 'erp' | 'mes') =>
  (await (await fetch(`http://127.0.0.1:${ports[system]}/figures`)).json()) as Record<string, never>;

interface MesOrder {
  orderId: string;
  plannedQuantity: number;
  state: string;
  startedAt: string | null;
  good: number;
  scrap: number;
  byShift: Record<string, { good: number; scrap: number }>;
  lots: Array<{ id: string; quantity: number }>;
  consumption: Array<{ material: string; lot: string; quantity: number }>;
}
const mesOrder = async (key: string) =>
  ((await figures('mes')).orders as unknown as MesOrder[]).find((order) => order.orderId === key);

/** WMS staging every component of an order at the line, through the hub (as WMS would). */
async function stage(orderId: string): Promise<void> {
  const envelopes = BOM.map((line) => ({
    messageId: 'set-by-the-hub',
    type: 'InventoryMovement',
    objectKey: `STG-${orderId}-${line.material}`,
    sourceSystem: 'wms',
    occurredAt: new Date(PLANT_START).toISOString(),
    receivedAt: new Date(PLANT_START).toISOString(),
    document: {
      id: `STG-${orderId}-${line.material}`,
      movementType: 'Transfer',
      materialDefinitionId: line.material,
      materialLotId: line.lot,
      quantity: { value: '100000', unit: line.unit },
      fromLocation: 'WH1',
      toLocation: 'PACK-L1-STAGING',
      orderId,
    },
  }));
  const response = await fetch(`${hub.url}/api/v1/inbound/wms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.wms}`, 'content-type': 'application/json' },
    body: JSON.stringify(envelopes),
  });
  expect(response.status).toBe(202);
}

let delivery = 0;
/** An engine ProductionConfirmation of a work unit delivered to MES as the hub's route does. */
async function deliverCount(
  orderId: string,
  unit: string,
  from: number,
  to: number,
  good: number,
  scrap: number,
  key?: string,
) {
  const stamp = new Date(from).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const id = `PC-${orderId}-${unit}-${stamp}`;
  const quantity = (value: number) => ({ value: String(value), unit: 'EA' });
  const body = {
    messageId: `m-${id}`,
    type: 'ProductionConfirmation',
    objectKey: id,
    version: 1,
    sourceSystem: 'line-context',
    occurredAt: new Date(to).toISOString(),
    receivedAt: new Date().toISOString(),
    document: {
      id,
      orderId,
      state: 'Running',
      startTime: new Date(from).toISOString(),
      endTime: new Date(to).toISOString(),
      hierarchyScope: { equipmentId: unit, equipmentLevel: 'WorkUnit' },
      segments: [
        {
          id: '0010',
          processSegmentId: '0010',
          actualStartTime: new Date(from).toISOString(),
          actualEndTime: new Date(to).toISOString(),
          equipment: [{ id: unit, equipmentId: unit }],
          personnel: [],
          materials: [
            {
              id: 'good',
              materialDefinitionId: 'FG-500',
              use: 'Produced',
              quantity: quantity(good),
              disposition: 'Good',
            },
            {
              id: 'scrap',
              materialDefinitionId: 'FG-500',
              use: 'Produced',
              quantity: quantity(scrap),
              disposition: 'Scrap',
            },
          ],
        },
      ],
    },
  };
  const response = await fetch(`http://127.0.0.1:${ports.mes}/handover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key ?? `delivery-${(delivery += 1)}` },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

/**
 * The line running an order as the engine reports it: once MES has it Running, a count period per
 * plant minute (the first from the start), 3 cases a minute and a reject every fourth, until the
 * order's planned quantity (the PLC stops there). Returns what it reported.
 */
async function runOrder(key: string): Promise<{ good: number; scrap: number }> {
  const started = await waitFor(
    async () => {
      const order = await mesOrder(key);
      return order?.state === 'Running' ? order : undefined;
    },
    30000,
    `order ${key} running`,
  );
  let from = Date.parse(started.startedAt!);
  let good = 0;
  let scrap = 0;
  for (let period = 0; ; period += 1) {
    const to = Math.floor(from / 60_000) * 60_000 + 60_000;
    while (plantNow() < to) await new Promise((resolve) => setTimeout(resolve, 20));
    const planned = (await mesOrder(key))!.plannedQuantity;
    const cases = Math.min(3, planned - good);
    const rejects = period % 4 === 3 ? 1 : 0;
    await deliverCount(key, 'CASEPACKER-01', from, to, cases, rejects);
    await deliverCount(key, 'FILLER-01', from, to, cases * 24, 0);
    if (period === 2) {
      // A redelivery (same Idempotency-Key) and a revision of the same confirmation change nothing.
      await deliverCount(key, 'CASEPACKER-01', from, to, cases, rejects, `delivery-${delivery - 1}`);
      await deliverCount(key, 'CASEPACKER-01', from, to, cases, rejects, `revision-${key}`);
    }
    good += cases;
    scrap += rejects;
    from = to;
    if (good >= planned) return { good, scrap };
  }
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-erp-mes-'));
  process.stdout.write(`ERP and MES logs in ${dir}\n`);
  others = await startHttpTarget();
  ports.erp = await freePort();
  ports.mes = await freePort();
  hub = await startHub({
    config: parseConfig(config()),
    dataDir: join(dir, 'hub'),
    mappingsDir: join(repoRoot, 'mappings'),
    env: {
      HANDOVER_ADMIN_TOKEN: 'admin-token',
      HANDOVER_TOKEN_ERP: tokens.erp,
      HANDOVER_TOKEN_MES: tokens.mes,
      HANDOVER_TOKEN_WMS: tokens.wms,
      HANDOVER_TOKEN_QMS: tokens.qms,
    },
    logger: pino({ level: 'silent' }),
  });
  wallStart = Date.now();
  start('erp', dir);
  start('mes', dir);
  for (const system of ['erp', 'mes'] as const)
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${ports[system]}/health`).then(
          (response) => response.ok,
          () => false,
        ),
      10000,
      `${system} listening`,
    );
  await stage('000004711001'); // WMS may spell the order as SAP does
  await stage(B);
}, 30000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))),
    ),
  );
  await hub?.stop();
  await others?.close();
});

it('runs both orders from ERP release to ERP goods movements', async () => {
  const a = await runOrder(A);
  const b = await runOrder(B);
  await waitFor(async () => (await mesOrder(B))?.state === 'Completed', 20000, 'order B completed');

  // Both orders at the hub: scoped to the line, producing FG-500 in their (latest) quantity.
  for (const [key, quantity] of [
    [A, orderA.quantity + Math.floor(orderA.quantity * 0.05)],
    [B, orderB.quantity],
  ] as const) {
    const object = await waitFor(
      async () => {
        const read = await admin(`/api/v1/objects/ProductionOrder/${key}`);
        return (read.body.data as { state?: string } | undefined)?.state === 'Completed' ? read : undefined;
      },
      10000,
      `order ${key} Completed at the hub`,
    );
    const data = object.body.data as unknown as {
      hierarchyScope: { equipmentId: string };
      state: string;
      segments: Array<{ materials: Array<{ use: string; materialDefinitionId: string; quantity: { value: string } }> }>;
    };
    expect(data.hierarchyScope.equipmentId).toBe('PACK-L1');
    expect(data.state).toBe('Completed');
    const produced = data.segments.flatMap((segment) => segment.materials).filter((m) => m.use === 'Produced');
    expect(produced).toEqual([
      expect.objectContaining({ materialDefinitionId: 'FG-500', quantity: { value: String(quantity), unit: 'CS' } }),
    ]);
  }

  // ERP's late re-send of version 1 is stale, its second send of version 2 a duplicate.
  const records = async (decision: string) =>
    (
      (await admin(`/api/v1/audit?decision=${decision}&system=erp`)).body.records as Array<Record<string, unknown>>
    ).filter((record) => record['objectKey'] === A);
  expect(await records('stale')).toEqual([expect.objectContaining({ rule: 'ordering.occurredAt' })]);
  expect(await records('duplicate')).toEqual([expect.objectContaining({ rule: 'identical-content' })]);
  // MES's Running and Completed are taken for the state it owns.
  const mesAccepted = (
    (await admin('/api/v1/audit?decision=accepted&system=mes')).body.records as Array<Record<string, unknown>>
  ).filter((record) => record['type'] === 'ProductionOrder');
  expect(mesAccepted.map((record) => [record['objectKey'], record['rule']])).toEqual([
    [A, 'ownership.ProductionOrder.fields.state = mes'],
    [A, 'ownership.ProductionOrder.fields.state = mes'],
    [B, 'ownership.ProductionOrder.fields.state = mes'],
    [B, 'ownership.ProductionOrder.fields.state = mes'],
  ]);

  // MES: the counts of the case packer only, once each; pallets of 60 and the rest; consumption per case.
  const mesA = (await mesOrder(A))!;
  expect(mesA).toMatchObject({ orderId: A, state: 'Completed', good: a.good, scrap: a.scrap });
  expect(Object.keys(mesA.byShift)).toEqual(['2026-12-01-early', '2026-12-01-late']);
  expect(mesA.lots).toEqual([
    { id: 'FG-4711001-01', quantity: 60 },
    { id: 'FG-4711001-02', quantity: a.good - 60 },
  ]);
  expect(mesA.consumption).toEqual(
    BOM.map((line) => ({ material: line.material, lot: line.lot, quantity: line.perCase * (a.good + a.scrap) })).sort(
      (x, y) => x.material.localeCompare(y.material),
    ),
  );

  // MES's bookings per shift are at the hub (the line's, so ERP's route takes them), adding up to its counts.
  for (const [shift, counted] of Object.entries(mesA.byShift)) {
    const booking = await admin(`/api/v1/objects/ProductionConfirmation/MES-${A}-${shift}`);
    const data = booking.body.data as unknown as {
      hierarchyScope: { equipmentId: string };
      segments: Array<{ materials: Array<{ disposition: string; quantity: { value: string; unit: string } }> }>;
    };
    expect(data.hierarchyScope.equipmentId).toBe('PACK-L1');
    expect(data.segments[0]!.materials.map((m) => [m.disposition, m.quantity])).toEqual([
      ['Good', { value: String(counted.good), unit: 'CS' }],
      ['Scrap', { value: String(counted.scrap), unit: 'CS' }],
    ]);
  }

  // ERP: the state from the hub's B2MML, 101 receipts of what MES booked, 261 issues of what it consumed.
  const erp = await waitFor(
    async () => {
      const all = await figures('erp');
      const orders = all.orders as unknown as Array<{
        orderId: string;
        received: number;
        state: string;
        issued: unknown[];
      }>;
      const erpB = orders.find((order) => order.orderId === B);
      const done =
        orders.every((order) => order.state === 'Completed') &&
        erpB?.received === b.good &&
        erpB.issued.length === BOM.length;
      return done
        ? (all as unknown as { orders: Array<Record<string, unknown>>; inventory: Array<Record<string, unknown>> })
        : undefined;
    },
    20000,
    'ERP booked both orders',
  );
  const erpA = erp.orders.find((order) => order['orderId'] === A)!;
  expect(erpA).toMatchObject({
    aufnr: '000004711001',
    version: 2,
    plannedQuantity: mesA.plannedQuantity,
    state: 'Completed',
    received: a.good,
  });
  expect(erpA['issued']).toEqual(
    mesA.consumption.map((line) => ({ material: line.material, lot: line.lot, quantity: line.quantity, unit: 'EA' })),
  );
  expect(erp.inventory).toContainEqual({ material: 'FG-500', lot: null, quantity: a.good + b.good, unit: 'CS' });
  for (const line of BOM)
    expect(erp.inventory).toContainEqual({
      material: line.material,
      lot: line.lot,
      quantity: STARTING_STOCK - line.perCase * (a.good + a.scrap + b.good + b.scrap),
      unit: line.unit,
    });

  // The planted discrepancies change one figure each.
  const corrupt = async (system: 'erp' | 'mes') =>
    (await (await fetch(`http://127.0.0.1:${ports[system]}/control/corrupt`, { method: 'POST' })).json()) as Record<
      string,
      unknown
    >;
  expect(await corrupt('erp')).toMatchObject({
    changed: { orderId: A, field: 'received', from: a.good, to: a.good + 1 },
  });
  expect(await corrupt('mes')).toMatchObject({
    changed: { orderId: A, field: 'good', from: a.good, to: a.good + 1 },
  });
}, 60000);
