/**
 * Mappings inside the running hub: an SAP LOIPRO01 IDoc the tests have not seen, posted as `erp`,
 * becomes an accepted ProductionOrder with its operations and components; routes with
 * `format: mapped` deliver through the target's outbound mapping.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { repoRoot } from './support/paths';

const env = { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_TOKEN_MES: 'mes-token', HANDOVER_ADMIN_TOKEN: 'admin-token' };
const mappingsDir = join(repoRoot, 'mappings');

const idoc = `<?xml version="1.0"?>
<LOIPRO01><IDOC BEGIN="1">
  <EDI_DC40 SEGMENT="1"><DOCNUM>0000000009990001</DOCNUM><MESTYP>LOIPRO</MESTYP><IDOCTYP>LOIPRO01</IDOCTYP><CREDAT>20250311</CREDAT><CRETIM>221500</CRETIM></EDI_DC40>
  <E1AFKOL SEGMENT="1">
    <AUFNR>000004200077</AUFNR><AUART>ZP10</AUART><WERKS>2000</WERKS><MATNR>000000000000777001</MATNR>
    <GAMNG>480.500</GAMNG><GMEIN>KG</GMEIN><GSTRS>20250312</GSTRS><GSUZS>053000</GSUZS><GLTRS>20250312</GLTRS><GLUZS>133000</GLUZS>
    <E1AFFLL SEGMENT="1">
      <E1AFVOL SEGMENT="1"><VORNR>0100</VORNR><LTXA1>Granulate</LTXA1><ARBPL>GRAN-02</ARBPL>
        <E1RESBL SEGMENT="1"><RSPOS>0010</RSPOS><MATNR>000000000000555010</MATNR><BDMNG>0.125</BDMNG><MEINS>KG</MEINS><CHARG>B-77</CHARG><LGORT>RM01</LGORT></E1RESBL>
      </E1AFVOL>
      <E1AFVOL SEGMENT="1"><VORNR>0200</VORNR><LTXA1>Dry</LTXA1><ARBPL>DRY-01</ARBPL></E1AFVOL>
    </E1AFFLL>
  </E1AFKOL>
</IDOC></LOIPRO01>`;

describe('with the seed plant configuration', () => {
  let hub: RunningHub;
  beforeAll(async () => {
    hub = await startHub({
      config: loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml')),
      dataDir: mkdtempSync(join(tmpdir(), 'handover-seed-')),
      mappingsDir,
      env,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(() => hub?.stop());

  it('accepts an unseen LOIPRO01 IDoc from erp as a ProductionOrder with operations and components', async () => {
    const api = request(hub.url!);
    const posted = await api
      .post('/api/v1/inbound/erp')
      .set('authorization', 'Bearer erp-token')
      .set('content-type', 'application/xml')
      .send(idoc);
    expect(posted.status).toBe(202);
    const trace = await waitFor(async () => {
      const response = await api
        .get(`/api/v1/messages/${posted.body.messageId}`)
        .set('authorization', 'Bearer admin-token');
      return response.body.decisions?.length ? response.body : undefined;
    });
    expect(trace.mapping).toEqual({
      name: 'erp-loipro01-production-order@2',
      documents: 1,
      digest: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(trace.decisions[0]).toMatchObject({
      type: 'ProductionOrder',
      objectKey: '4200077',
      decision: 'accepted',
      occurredAt: '2025-03-11T22:15:00Z',
    });
    const order = (await api.get('/api/v1/objects/ProductionOrder/4200077').set('authorization', 'Bearer admin-token'))
      .body.data;
    expect(
      order.segments.map((segment: { id: string; equipment: Array<{ equipmentId: string }> }) => [
        segment.id,
        segment.equipment[0]!.equipmentId,
      ]),
    ).toEqual([
      ['0100', 'GRAN-02'],
      ['0200', 'DRY-01'],
    ]);
    expect(order.segments[0].materials).toEqual([
      {
        id: '0010',
        materialDefinitionId: '555010',
        materialLotId: 'B-77',
        use: 'Consumed',
        quantity: { value: '0.125', unit: 'KG' },
        storageLocation: 'RM01',
      },
    ]);
    expect(order.segments[1].materials).toEqual([
      { id: 'HEADER', materialDefinitionId: '777001', use: 'Produced', quantity: { value: '480.500', unit: 'KG' } },
    ]);
  });

  it('dead-letters a mapped payload that breaks the canonical schema, naming the mapping', async () => {
    const api = request(hub.url!);
    const broken = idoc.replace('<BDMNG>0.125</BDMNG>', '<BDMNG>1,5</BDMNG>');
    const posted = await api
      .post('/api/v1/inbound/erp')
      .set('authorization', 'Bearer erp-token')
      .set('content-type', 'application/xml')
      .send(broken);
    const trace = await waitFor(async () => {
      const response = await api
        .get(`/api/v1/messages/${posted.body.messageId}`)
        .set('authorization', 'Bearer admin-token');
      return response.body.status === 'invalid' ? response.body : undefined;
    });
    expect(trace.error.code).toBe('MAPPING_FAILED');
    expect(trace.error.problems[0].reason).toContain('erp-loipro01-production-order@2');
    expect(trace.error.problems[0].reason).toContain('"1,5" is not a decimal');
  });
});

describe('routes with format: mapped', () => {
  let hub: RunningHub;
  let mes: HttpTarget;
  let erp: HttpTarget;
  beforeAll(async () => {
    mes = await startHttpTarget();
    erp = await startHttpTarget();
    const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
  ProductionConfirmation: { owner: mes }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], format: mapped, url: "${mes.url}/jobs" }
  - { id: receipts-to-erp, target: erp, types: [ProductionConfirmation], format: mapped, url: "${erp.url}/idoc" }
`);
    hub = await startHub({
      config,
      dataDir: mkdtempSync(join(tmpdir(), 'handover-mapped-')),
      mappingsDir,
      env,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await hub?.stop();
    await mes?.close();
    await erp?.close();
  });

  it('sends MES its job and SAP a 101 goods receipt IDoc', async () => {
    const api = request(hub.url!);
    await api
      .post('/api/v1/inbound/erp')
      .set('authorization', 'Bearer erp-token')
      .set('content-type', 'application/xml')
      .send(idoc);
    const job = await waitFor(() => mes.received[0]);
    expect(JSON.parse(job.body)).toMatchObject({
      jobId: '4200077',
      line: '2000',
      operations: [{ operation: '0100', workCenter: 'GRAN-02' }, { operation: '0200' }],
    });

    const confirmation = {
      confirmationId: 'CONF-9',
      order: '4200077',
      operation: '0200',
      final: true,
      line: 'LINE-2',
      workCenter: 'DRY-01',
      product: '777001',
      lot: 'L-9',
      goodQty: '478.250',
      scrapQty: '2.250',
      uom: 'KG',
      start: '2025-03-12T05:30:00Z',
      end: '2025-03-12T13:10:00Z',
    };
    await api
      .post('/api/v1/inbound/mes')
      .set('authorization', 'Bearer mes-token')
      .set('content-type', 'application/json')
      .send(confirmation);
    const receipt = await waitFor(() => erp.received[0]);
    expect(receipt.headers['content-type']).toBe('application/xml');
    expect(receipt.body).toContain('<BWART>101</BWART>');
    expect(receipt.body).toContain('<ERFMG>478.250</ERFMG>');
    expect(receipt.body).toContain('<AUFNR>000004200077</AUFNR>');
    expect(receipt.body).not.toContain('2.250');
  });
});
