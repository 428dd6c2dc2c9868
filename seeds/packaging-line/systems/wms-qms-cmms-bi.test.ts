/**
 * The WMS, QMS, CMMS and BI simulators as the demo runs them — each its own HTTP server and SQLite
 * store on a fast plant clock — with a stand-in hub that records what they send it.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpTarget, waitFor, type HttpTarget } from '../../../test/support/http-target';
import { startBi } from './bi';
import { startCmms } from './cmms';
import { PlantClock, type SystemSettings } from './common';
import { startQms } from './qms';
import { CMMS_OUTAGE_WALL_SECONDS, EVENTS, atFraction, plannedOrders } from './scenario';
import { startWms } from './wms';

const PLANT_START = Date.parse('2025-03-12T06:00:00Z');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Settings of a run of `hours` plant hours at `speed`, `elapsed` plant hours in already. */
async function settings(system: string, hub: HttpTarget, hours: number, speed: number, elapsed = 0) {
  const wallStart = Date.now() - (elapsed * 3_600_000) / speed;
  const value: SystemSettings = {
    system,
    port: await freePort(),
    dataDir: mkdtempSync(join(tmpdir(), `handover-${system}-`)),
    hubUrl: hub.url,
    token: `${system}-token`,
    clock: new PlantClock(PLANT_START, wallStart, speed, hours),
    extra: {},
  };
  return value;
}

const post = (
  settings: SystemSettings,
  path: string,
  body: unknown,
  key?: string,
  headers: Record<string, string> = {},
) =>
  fetch(`http://127.0.0.1:${settings.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}), ...headers },
    body: JSON.stringify(body),
  });
const figures = async (settings: SystemSettings) =>
  (await fetch(`http://127.0.0.1:${settings.port}/figures`)).json() as Promise<Record<string, unknown>>;
const sent = (hub: HttpTarget) => hub.received.map((request) => JSON.parse(request.body) as Record<string, unknown>);

let hub: HttpTarget;
beforeEach(async () => {
  hub = await startHttpTarget();
  hub.respond = () => 202;
});
afterEach(() => hub.close());

const order = (state: string, cases: string) => ({
  messageId: 'm',
  type: 'ProductionOrder',
  objectKey: '4711001',
  sourceSystem: 'erp',
  occurredAt: '2025-03-12T06:00:00Z',
  receivedAt: '2025-03-12T06:00:00Z',
  document: {
    id: '4711001',
    state,
    segments: [
      {
        id: '0010',
        processSegmentId: 'PACKING',
        operationsDefinitionId: 'FG-500',
        operationsSegmentId: '0010',
        equipment: [],
        materials: [
          { id: 'HEADER', materialDefinitionId: 'FG-500', use: 'Produced', quantity: { value: cases, unit: 'CS' } },
        ],
      },
    ],
  },
});

describe('WMS', () => {
  it('stages a released order once, tops up a raised one, and receipts a lot for the order as the hub spells it', async () => {
    const wms = await settings('wms', hub, 8, 600);
    const system = await startWms(wms);
    try {
      expect((await post(wms, '/handover', order('Released', '100'), 'k1')).status).toBe(200);
      expect((await post(wms, '/handover', order('Released', '100'), 'k1')).status).toBe(200);
      await post(wms, '/handover', order('Running', '100'), 'k2');
      await waitFor(() => hub.received.length === 4, 10000, 'four staging movements');
      expect(sent(hub)[0]).toMatchObject({
        movementId: 'STG-4711001-BOT-500',
        type: 'TR',
        material: 'BOT-500',
        lot: 'LOT-BOT-2611-07',
        qty: '2400',
        uom: 'EA',
        toLoc: 'PACK-L1-STAGING',
        order: '4711001',
      });
      expect(hub.received[0]!.headers['idempotency-key']).toBe('STG-4711001-BOT-500');
      expect(hub.received[0]!.headers.authorization).toBe('Bearer wms-token');
      await post(wms, '/handover', order('Released', '105'), 'k3');
      await waitFor(() => hub.received.length === 8, 10000, 'the top-up');
      expect(sent(hub)[7]).toMatchObject({ movementId: 'STG-4711001-CASE-24-2', qty: '5' });

      const lot = {
        lot: 'FG-4711001-01',
        material: 'FG-500',
        qty: '60',
        uom: 'CS',
        fromLoc: 'L1-OUT',
        handlingUnits: [],
      };
      await post(wms, '/putaway', lot, 'p1');
      await post(wms, '/putaway', lot, 'p2');
      await waitFor(() => hub.received.length === 9, 10000, 'the receipt');
      expect(sent(hub)[8]).toMatchObject({
        movementId: 'PUT-FG-4711001-01',
        type: 'GR',
        qty: '60',
        uom: 'CS',
        order: '4711001',
      });

      const before = await figures(wms);
      expect(before['staged']).toContainEqual({
        orderId: '4711001',
        material: 'CAP-28',
        lot: 'LOT-CAP-2611-19',
        quantity: 2520,
        unit: 'EA',
      });
      expect(before['received']).toEqual([
        { orderId: '4711001', lot: 'FG-4711001-01', material: 'FG-500', quantity: 60, unit: 'CS' },
      ]);
      const corrupt = await (await post(wms, '/control/corrupt', {})).json();
      expect(corrupt.changed).toMatchObject({ figure: 'staged', material: 'BOT-500', from: 2520, to: 2521 });
    } finally {
      await system.close();
    }
  });
});

describe('QMS', () => {
  it('fails the second lot of order A with a deviation, tries the non-owner change, and sends the first result after the planned moment with the firmware quirk', async () => {
    const hours = 2;
    const qms = await settings('qms', hub, hours, 3600);
    const system = await startQms(qms);
    const [orderA] = plannedOrders(hours);
    try {
      await post(qms, '/samples', { lot: 'FG-4711001-01', material: 'FG-500' }, 's1');
      await post(qms, '/samples', { lot: 'FG-4711001-02', material: 'FG-500' }, 's2');
      await post(qms, '/samples', { lot: 'FG-4711001-02', material: 'FG-500', status: 'Blocked' }, 's3');
      const change = await waitFor(
        () => sent(hub).find((body) => body['type'] === 'ProductionOrder'),
        10000,
        'the change',
      );
      expect(change).toMatchObject({ sourceSystem: 'qms', objectKey: orderA!.orderId, verb: 'Change' });
      await waitFor(() => sent(hub).filter((body) => body['resultId']).length === 2, 10000, 'two results');
      const failing = sent(hub).find((body) => body['resultId'] === 'QR-FG-4711001-02')!;
      expect(failing).toMatchObject({ disposition: 'R', order: orderA!.orderId, sampleId: 'SMP-FG-4711001-02' });
      expect(failing['results']).toContainEqual(expect.objectContaining({ parameter: 'CapTorque', value: '9.4' }));
      // A lot sampled so that its result falls due after EVENTS.poisonResult.
      await qms.clock.until(atFraction(qms.clock, EVENTS.poisonResult));
      await post(qms, '/samples', { lot: 'FG-4711002-01', material: 'FG-500' }, 's4');
      const quirk = await waitFor(
        () => sent(hub).find((body) => body['resultId'] === 'QR-FG-4711002-01'),
        10000,
        'the quirk',
      );
      expect((quirk['results'] as unknown[])[0]).toEqual(
        expect.objectContaining({ parameter: 'FillVolume', reading: { ml: expect.any(Number) } }),
      );
      expect((quirk['results'] as Array<Record<string, unknown>>)[0]!['value']).toBeUndefined();
      // No retained-sample result once a quirky one went out.
      await qms.clock.until(atFraction(qms.clock, EVENTS.poisonResult + 0.3));
      expect(sent(hub).some((body) => body['resultId'] === 'QR-POISON-1')).toBe(false);
      expect(await figures(qms)).toEqual({
        system: 'qms',
        samples: [
          { lot: 'FG-4711001-01', sampleId: 'SMP-FG-4711001-01' },
          { lot: 'FG-4711001-02', sampleId: 'SMP-FG-4711001-02' },
          { lot: 'FG-4711002-01', sampleId: 'SMP-FG-4711002-01' },
        ],
        results: [
          { resultId: 'QR-FG-4711001-01', lot: 'FG-4711001-01', orderId: orderA!.orderId, disposition: 'A' },
          { resultId: 'QR-FG-4711001-02', lot: 'FG-4711001-02', orderId: orderA!.orderId, disposition: 'R' },
          { resultId: 'QR-FG-4711002-01', lot: 'FG-4711002-01', orderId: '4711002', disposition: 'A' },
        ],
        deviations: [{ id: 'DEV-1', resultId: 'QR-FG-4711001-02', lot: 'FG-4711001-02' }],
        nonOwnerChange: { sent: true, messageId: null },
      });
    } finally {
      await system.close();
    }
  });

  it('sends the quirky result for a retained sample of the first lot when no result falls after the planned moment', async () => {
    const hours = 1;
    const qms = await settings('qms', hub, hours, 3600, 0.7);
    const system = await startQms(qms);
    try {
      const retained = await waitFor(
        () => sent(hub).find((body) => body['resultId'] === 'QR-POISON-1'),
        10000,
        'the retained result',
      );
      expect(retained).toMatchObject({ lot: 'FG-4711001-01', sampleId: 'SMP-FG-4711001-01-R', disposition: 'A' });
      expect((retained['results'] as Array<Record<string, unknown>>)[0]).toHaveProperty('reading');
    } finally {
      await system.close();
    }
  });
});

describe('CMMS', () => {
  it('refuses service requests during its outage, then opens one work order per request and reports WAPPR, INPRG, COMP', async () => {
    const hours = 8;
    const speed = 3000;
    // Two wall seconds before the outage ends.
    const into = EVENTS.cmmsOutage * hours + ((CMMS_OUTAGE_WALL_SECONDS - 2) * 1000 * speed) / 3_600_000;
    const cmms = await settings('cmms', hub, hours, speed, into);
    const system = await startCmms(cmms);
    const sr = {
      ticketid: 'MR-CAPPER-01-1',
      class: 'SR',
      description: '3 stops',
      assetnum: 'CAPPER-01',
      classstructureid: '17',
      internalpriority: 1,
    };
    try {
      expect((await post(cmms, '/maximo/sr', sr, 'd1')).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect((await post(cmms, '/maximo/sr', sr, 'd1')).status).toBe(201);
      expect((await post(cmms, '/maximo/sr', sr, 'd1')).status).toBe(200);
      expect((await post(cmms, '/maximo/sr', { ...sr, description: '4 stops' }, 'd2')).status).toBe(200);
      await waitFor(() => hub.received.length === 3, 10000, 'three statuses');
      const statuses = sent(hub);
      expect(statuses.map((body) => body['status'])).toEqual(['WAPPR', 'INPRG', 'COMP']);
      expect(statuses[2]).toMatchObject({
        wonum: 'WO-1',
        assetnum: 'CAPPER-01',
        origrecordid: 'MR-CAPPER-01-1',
        wopriority: 1,
      });
      const dates = statuses.map((body) => Date.parse(body['statusdate'] as string));
      expect(dates[1]! - dates[0]!).toBe(5 * 60_000);
      expect(dates[2]! - dates[0]!).toBe(45 * 60_000);
      expect(await figures(cmms)).toEqual({
        system: 'cmms',
        requests: [{ requestId: 'MR-CAPPER-01-1', equipmentId: 'CAPPER-01', reasonCode: '17', revisions: 2 }],
        workOrders: [{ wonum: 'WO-1', requestId: 'MR-CAPPER-01-1', status: 'COMP' }],
        refusedDuringOutage: 1,
      });
    } finally {
      await system.close();
    }
  });
});

describe('BI', () => {
  it('keeps the latest revision of each object and reports good cases and downtime from them', async () => {
    const bi = await settings('bi', hub, 8, 60);
    const system = await startBi(bi);
    const confirmation = (good: string) => ({
      messageId: 'm',
      type: 'ProductionConfirmation',
      objectKey: 'PC-1',
      sourceSystem: 'line-context',
      occurredAt: '2025-03-12T06:10:00Z',
      receivedAt: '2025-03-12T06:10:00Z',
      document: {
        id: 'PC-1',
        orderId: '4711001',
        hierarchyScope: { equipmentId: 'CASEPACKER-01', equipmentLevel: 'WorkUnit' },
        segments: [
          {
            id: 's',
            equipment: [],
            personnel: [],
            materials: [
              {
                id: 'good',
                materialDefinitionId: 'FG-500',
                use: 'Produced',
                quantity: { value: good },
                disposition: 'Good',
              },
            ],
          },
        ],
      },
    });
    const stop = (id: string, seconds: number, reasonCode?: string) => ({
      messageId: 'm',
      type: 'DowntimeEvent',
      objectKey: id,
      sourceSystem: 'line-context',
      occurredAt: '2025-03-12T06:10:00Z',
      receivedAt: '2025-03-12T06:10:00Z',
      document: {
        id,
        equipmentId: 'CAPPER-01',
        equipmentLevel: 'WorkUnit',
        startTime: '2025-03-12T06:10:00Z',
        durationSeconds: seconds,
        ...(reasonCode ? { reasonCode } : {}),
      },
    });
    try {
      await post(bi, '/events', confirmation('40'), 'e1', { 'x-handover-object-revision': '2' });
      await post(bi, '/events', confirmation('30'), 'e2', { 'x-handover-object-revision': '1' });
      await post(bi, '/events', stop('DT-1', 90, '17'), 'e3');
      await post(bi, '/events', stop('DT-2', 30), 'e4');
      await post(bi, '/events', order('Released', '100'), 'e5');
      expect(await figures(bi)).toEqual({
        system: 'bi',
        objects: { DowntimeEvent: 2, ProductionConfirmation: 1, ProductionOrder: 1 },
        produced: { '4711001': 40 },
        downtimeMinutes: { '17': 1.5, none: 0.5 },
      });
      const corrupt = await (await post(bi, '/control/corrupt', {})).json();
      expect(corrupt.changed).toMatchObject({ figure: 'produced', orderId: '4711001', from: 40, to: 41 });
      expect(hub.received).toEqual([]);
    } finally {
      await system.close();
    }
  });
});
