/**
 * The context engine inside the running hub: ERP's order runs on the packaging line once MES sets it
 * Running, the capper's signals (POSTed by scada, as a PLC gateway does) become DowntimeEvents and
 * ProductionConfirmations of line-context in context — order, operation, material, shift, reason —
 * delivered to MES over HTTP, with OEE and the unit's state from what was accepted; the state survives
 * a restart of the hub.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import type { HubConfig } from '../hub/config/schema';
import { startHub, type RunningHub } from '../hub/hub';
import { clockNow } from '../hub/pipeline/context-clock';
import { lineOrder, sendRecorded } from './support/context';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { repoRoot } from './support/paths';

const env = {
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_TOKEN_MES: 'mes-token',
  HANDOVER_TOKEN_SCADA: 'scada-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
};
const DAY = '2026-12-01';
const at = (time: string) => `${DAY}T${time}Z`;

let target: HttpTarget;
let config: HubConfig;
let hub: RunningHub;
const dataDir = mkdtempSync(join(tmpdir(), 'handover-context-'));

async function start(): Promise<void> {
  hub = await startHub({
    config,
    dataDir,
    mappingsDir: join(repoRoot, 'mappings'),
    env,
    logger: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  target = await startHttpTarget();
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: Automation }
  - { id: line-context, name: Context engine, processOwner: Production, technicalOwner: IT }
  - { id: cmms, name: CMMS, processOwner: Maintenance, technicalOwner: IT }
ownership:
  MaintenanceRequest:
    owner: mes
    scopes: [{ equipment: CAPPER-01, owner: line-context }]
  ProductionOrder: { owner: erp, fields: { state: mes } }
  DowntimeEvent: { owner: line-context }
  ProductionConfirmation:
    owner: mes
    scopes: [{ equipment: CAPPER-01, owner: line-context }]
routes:
  - { id: context-to-mes, target: mes, types: [DowntimeEvent, ProductionConfirmation], url: "${target.url}/handover" }
  - { id: requests-to-cmms, target: cmms, types: [MaintenanceRequest], format: mapped, url: "${target.url}/maximo/sr" }
`);
  config.context = seed.context;
  await start();
}, 60000);

afterAll(async () => {
  await hub?.stop();
  await target?.close();
});

const admin = (path: string) => request(hub.url!).get(path).set('authorization', 'Bearer admin-token');

/** POSTs a body as `system` and waits until the hub has recorded the message; returns its trace. */
const send = (system: string, body: unknown) => sendRecorded(hub.url!, system, body);

const order = (state: string) =>
  lineOrder({
    state,
    receivedAt: at('04:00:00'),
    occurredAt: state === 'Released' ? at('04:00:00') : at('05:10:00'),
    quantity: '5000',
  });

const signal = (time: string, name: string, value: unknown) => ({
  kind: 'signal',
  equipmentId: 'CAPPER-01',
  signal: name,
  value,
  quality: 'good',
  sourceTimestamp: at(time),
});

/** The last revision the target received of a document. */
function delivered(objectKey: string): Record<string, unknown> | undefined {
  const envelopes = target.received
    .filter((r) => r.path === '/handover')
    .map((r) => JSON.parse(r.body) as { objectKey: string; version: number; document: Record<string, unknown> })
    .filter((envelope) => envelope.objectKey === objectKey)
    .sort((a, b) => a.version - b.version);
  return envelopes.at(-1)?.document;
}

it('turns the capper’s signals into downtime and counts of the running order, delivered to MES', async () => {
  await send('erp', order('Released'));
  const running = await send('mes', order('Running'));
  expect(running.decisions[0]).toMatchObject({ decision: 'accepted' });
  await send('scada', [
    signal('05:10:00', 'mode', 1),
    signal('05:10:00', 'state', 6),
    signal('05:10:00', 'goodCount', 100),
  ]);
  await send('scada', [signal('06:00:00', 'stopReason', 17), signal('06:00:00', 'state', 11)]);
  const stop = await send('scada', [signal('06:07:00', 'state', 6), signal('06:07:00', 'stopReason', 0)]);
  await send('scada', [signal('06:20:00', 'goodCount', 400), signal('06:20:00', 'rejectCount', 0)]);
  await send('scada', [signal('06:20:10', 'rejectCount', 12)]);
  // An unknown stop reasoned during the stop, then a micro-stop.
  await send('scada', [signal('07:00:00', 'state', 2)]);
  await send('scada', [signal('07:01:00', 'stopReason', 30)]);
  await send('scada', [signal('07:05:00', 'state', 6), signal('07:05:00', 'stopReason', 0)]);
  await send('scada', [signal('07:30:00', 'state', 2)]);
  await send('scada', [signal('07:31:00', 'state', 6), signal('07:31:00', 'goodCount', 460)]);

  const jam = await waitFor(async () => {
    const document = delivered('DT-CAPPER-01-20261201T060000Z');
    return document?.['endTime'] ? document : undefined;
  });
  expect(jam).toMatchObject({
    equipmentId: 'CAPPER-01',
    startTime: '2026-12-01T06:00:00.000Z',
    endTime: '2026-12-01T06:07:00.000Z',
    durationSeconds: 420,
    reasonCode: '17',
    reason: 'Cap feed jam',
    lossCategory: 'availability',
    orderId: 'PO-1',
    operationId: '0010',
    materialDefinitionId: 'FG-500',
    shift: '2026-12-01-early',
  });
  await waitFor(async () => delivered('DT-CAPPER-01-20261201T073000Z')?.['endTime']);
  expect(delivered('DT-CAPPER-01-20261201T070000Z')).toMatchObject({ reasonCode: '30', durationSeconds: 300 });
  expect(delivered('DT-CAPPER-01-20261201T073000Z')).toMatchObject({
    stopKind: 'microStop',
    lossCategory: 'performance',
  });

  // The engine published as line-context, owner by the rules; the decision names the signals.
  const object = (await admin('/api/v1/objects/DowntimeEvent/DT-CAPPER-01-20261201T060000Z')).body;
  expect(object).toMatchObject({ owner: 'line-context', sourceSystem: 'line-context' });
  const derived = (await admin(`/api/v1/messages/${object.messageId}`)).body;
  expect(derived.system).toBe('line-context');
  const decision = derived.audit.find((record: { kind: string }) => record.kind === 'decision');
  expect(decision.details.derivedFrom).toEqual([
    { messageId: expect.any(String), signal: 'state', sourceTimestamp: '2026-12-01T06:00:00.000Z' },
    { messageId: stop.messageId, signal: 'state', sourceTimestamp: '2026-12-01T06:07:00.000Z' },
  ]);

  // Counts: +300 good and +12 reject in the minute from 06:20, booked to the running order.
  const confirmation = await waitFor(async () => delivered('PC-PO-1-CAPPER-01-20261201T062000Z'));
  expect(confirmation).toMatchObject({ orderId: 'PO-1', hierarchyScope: { equipmentId: 'CAPPER-01' } });
  const materials = (confirmation!['segments'] as Array<{ materials: Array<Record<string, unknown>> }>)[0]!.materials;
  expect(materials.map((m) => [m['disposition'], (m['quantity'] as { value: string }).value])).toEqual([
    ['Good', '300'],
    ['Scrap', '12'],
  ]);

  const state = (await admin('/api/v1/equipment/CAPPER-01/state')).body;
  expect(state).toMatchObject({
    line: 'PACK-L1',
    state: { code: '6', name: 'Execute', class: 'running' },
    runningOrder: { orderId: 'PO-1', operationId: '0010', materialDefinitionId: 'FG-500' },
    openStop: null,
    counters: { goodCount: { value: 460 } },
  });

  const figures = (await admin(`/api/v1/oee?equipment=CAPPER-01&from=${at('05:00:00')}&to=${at('08:00:00')}`)).body;
  expect(figures.timeElements).toMatchObject({ POT: 10800, PDOT: 0, PBT: 10800, ADOT: 720, ADET: 0, APT: 10080 });
  expect(figures.quantities).toEqual({ PQ: 312, GQ: 300, SQ: 12 });
  expect(figures.losses).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'downtime', reasonCode: '17', seconds: 420 }),
      expect.objectContaining({ kind: 'downtime', reasonCode: '30', seconds: 300 }),
      expect.objectContaining({ kind: 'microStop', count: 1, seconds: 60 }),
    ]),
  );
}, 90000);

it('lets MES give a micro-stop its reason later: a corrected, re-routed revision, audited with who and why', async () => {
  const api = request(hub.url!);
  const correct = (token: string, id: string, body: unknown) =>
    api
      .post(`/api/v1/downtime/${id}/reason`)
      .set('authorization', `Bearer ${token}`)
      .send(body as object);
  const id = 'DT-CAPPER-01-20261201T073000Z';
  expect((await correct('scada-token', id, { reasonCode: '30' })).status).toBe(403);
  expect((await correct('mes-token', id, { reasonCode: '999' })).body.error).toMatchObject({ code: 'BAD_REQUEST' });
  expect((await correct('mes-token', 'DT-NOPE', { reasonCode: '30' })).status).toBe(404);
  const accepted = await correct('mes-token', id, { reasonCode: '30', comment: 'caps ran out' });
  expect(accepted.status).toBe(202);
  const corrected = await waitFor(async () => {
    const document = delivered(id);
    return document?.['reasonCode'] === '30' ? document : undefined;
  });
  expect(corrected).toMatchObject({ stopKind: 'stop', lossCategory: 'availability', reason: 'Material shortage' });
  expect(corrected!['startTime']).toBe('2026-12-01T07:30:00.000Z');
  const trace = (await admin(`/api/v1/messages/${accepted.body.messageId}`)).body;
  expect(trace.audit[0].details.correction).toEqual({
    downtimeId: id,
    reasonCode: '30',
    by: 'mes',
    comment: 'caps ran out',
  });
}, 60000);

it('records a late signal, an unknown equipment and a bad reason code without booking them', async () => {
  const trace = await send('scada', [
    signal('05:00:00', 'state', 2),
    { ...signal('07:40:00', 'state', 2), equipmentId: 'NOPE-9' },
    signal('07:40:00', 'stopReason', 99),
    signal('07:40:01', 'stopReason', 0),
  ]);
  const receipt = trace.audit.find((record: { kind: string }) => record.kind === 'received');
  expect(receipt.details.signals.outcomes).toEqual([
    expect.objectContaining({ equipmentId: 'CAPPER-01', code: 'SIGNAL_LATE', booked: false }),
    expect.objectContaining({ equipmentId: 'NOPE-9', code: 'SIGNAL_UNKNOWN_EQUIPMENT', booked: false }),
    expect.objectContaining({ equipmentId: 'CAPPER-01', code: 'REASON_UNKNOWN', booked: true, detail: 'reason 99' }),
  ]);
  expect((await admin('/api/v1/equipment/CAPPER-01/state')).body.openStop).toBeNull();
  const invalid = await send('scada', { kind: 'signal', signal: 'state', value: 2 });
  expect(invalid.status).toBe('invalid');
  expect(invalid.error).toMatchObject({ code: 'SIGNAL_INVALID' });
});

it('applies one message’s signals in source-time order, as an OPC UA notification lists them by item', async () => {
  const trace = await send('scada', [signal('07:50:02', 'stopReason', 0), signal('07:50:01', 'stopReason', 0)]);
  const receipt = trace.audit.find((record: { kind: string }) => record.kind === 'received');
  expect(receipt.details.signals).toEqual({ applied: 2, notBooked: 0 });
  expect((await admin('/api/v1/equipment/CAPPER-01/state')).body.eventTime).toBe('2026-12-01T07:50:02.000Z');
});

it('holds its clock back to the oldest batch of signals still queued: a backlog is not a silent line', async () => {
  const queued = await hub.context.queues.contextIngest!.add('ingest', { messages: [] }, { delay: 60_000 });
  expect(await clockNow(hub.context, queued.timestamp + 15_000)).toBe(queued.timestamp);
  await queued.remove();
  expect(await clockNow(hub.context, 123)).toBe(123);
});

it('raises one MaintenanceRequest at the CMMS for 3 cap feed jams within 30 minutes, and attaches the fourth', async () => {
  for (const minute of ['00', '05', '10', '15'])
    await send('scada', [
      signal(`09:${minute}:00`, 'stopReason', 17),
      signal(`09:${minute}:00`, 'state', 11),
      signal(`09:${minute}:40`, 'state', 6),
      signal(`09:${minute}:40`, 'stopReason', 0),
    ]);
  const requests = () =>
    target.received.filter((r) => r.path === '/maximo/sr').map((r) => JSON.parse(r.body) as Record<string, unknown>);
  await waitFor(async () => requests().length >= 2 || undefined);
  expect(new Set(requests().map((r) => r['ticketid']))).toEqual(
    new Set(['MR-CAPPER-01-20261201T091000Z-recurring-fault']),
  );
  expect(requests()[0]).toMatchObject({ class: 'SR', assetnum: 'CAPPER-01', classstructureid: '17' });
  const request = (await admin('/api/v1/objects/MaintenanceRequest/MR-CAPPER-01-20261201T091000Z-recurring-fault'))
    .body;
  expect(request).toMatchObject({ owner: 'line-context', revision: 2 });
  expect(request.data.downtimeEventIds).toEqual([
    'DT-CAPPER-01-20261201T090000Z',
    'DT-CAPPER-01-20261201T090500Z',
    'DT-CAPPER-01-20261201T091000Z',
    'DT-CAPPER-01-20261201T091500Z',
  ]);
}, 60000);

it('keeps an open stop across a restart of the hub: one event, closed after it, not two', async () => {
  await send('scada', [signal('10:00:00', 'state', 11)]);
  expect((await admin('/api/v1/equipment/CAPPER-01/state')).body.openStop).toMatchObject({
    id: 'DT-CAPPER-01-20261201T100000Z',
  });
  await hub.stop();
  await start();
  await send('scada', [signal('10:10:00', 'state', 6)]);
  const closed = await waitFor(
    async () => delivered('DT-CAPPER-01-20261201T100000Z')?.['endTime'] && delivered('DT-CAPPER-01-20261201T100000Z'),
  );
  expect(closed).toMatchObject({ startTime: '2026-12-01T10:00:00.000Z', durationSeconds: 600 });
  const events = new Set(
    target.received
      .filter((r) => r.path === '/handover')
      .map((r) => (JSON.parse(r.body) as { objectKey: string }).objectKey)
      .filter((key) => key.startsWith('DT-CAPPER-01-20261201T10')),
  );
  expect([...events]).toEqual(['DT-CAPPER-01-20261201T100000Z']);
}, 60000);
