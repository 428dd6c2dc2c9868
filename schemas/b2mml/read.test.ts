import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { b2mmlDir } from '../../test/support/paths';
import { xsdErrors } from '../../test/support/xsd';
import type { DocumentOf } from '../index';
import { readB2mml, readConfirmBod } from './index';

const skeleton = (release: string, file: string) => readFileSync(join(b2mmlDir, release, 'skeletons', file), 'utf8');

describe('reading MESA skeleton documents', () => {
  it.each(readdirSync(join(b2mmlDir, 'V0700', 'skeletons')).filter((file) => file !== 'ConfirmBOD.xml'))(
    'V0700 %s converts to valid canonical envelopes',
    (file) => {
      const result = readB2mml(skeleton('V0700', file));
      expect(result.release).toBe('V0700');
      expect(result.envelopes.length).toBeGreaterThan(0);
    },
  );

  it('V0700 ConfirmBOD converts to an acknowledgement', () => {
    expect(readConfirmBod(skeleton('V0700', 'ConfirmBOD.xml'))).toMatchObject({
      sender: 'HUB',
      original: { sender: 'ERP', bodId: 'bod-0001' },
    });
  });

  it('ProcessOperationsSchedule becomes a ProductionOrder with segments, equipment and materials', () => {
    const { envelopes, verb, applicationArea } = readB2mml(skeleton('V0700', 'ProcessOperationsSchedule.xml'), {
      sourceSystem: 'erp',
    });
    expect(verb).toBe('Process');
    expect(applicationArea).toEqual({ sender: 'ERP', creationDateTime: '2024-05-01T08:00:00Z', bodId: 'bod-0001' });
    expect(envelopes[0]).toMatchObject({
      type: 'ProductionOrder',
      objectKey: 'PO-1000123',
      sourceSystem: 'erp',
      correlationId: 'bod-0001',
    });
    const order = envelopes[0]!.document as DocumentOf['ProductionOrder'];
    expect(order).toMatchObject({ id: 'PO-1000123', scheduleId: 'SCHED-2024-05-01', state: 'Released' });
    expect(order.segments[0]).toEqual({
      id: '0010',
      processSegmentId: 'MIXING',
      operationsDefinitionId: 'ROUTING-FG-500',
      operationsSegmentId: '0010',
      earliestStartTime: '2024-05-02T06:00:00Z',
      latestEndTime: '2024-05-02T10:00:00Z',
      equipment: [{ id: 'ER-1', equipmentId: 'MIXER-01', quantity: { value: '1' } }],
      materials: [
        { id: 'MR-1', materialDefinitionId: 'RM-100', use: 'Consumed', quantity: { value: '25.0', unit: 'KG' } },
        { id: 'MR-2', materialDefinitionId: 'FG-500', use: 'Produced', quantity: { value: '100', unit: 'EA' } },
      ],
    });
  });

  it('SyncOperationsPerformance becomes a confirmation plus one consumption per consumed lot', () => {
    const { envelopes } = readB2mml(skeleton('V0700', 'SyncOperationsPerformance.xml'));
    expect(envelopes.map((envelope) => envelope.type)).toEqual(['ProductionConfirmation', 'MaterialConsumption']);
    expect(envelopes[1]!.document).toEqual({
      id: 'RESP-PO-1000123/0010-R1/MA-1',
      orderId: 'PO-1000123',
      segmentResponseId: '0010-R1',
      materialDefinitionId: 'RM-100',
      materialLotId: 'LOT-RM-100-77',
      quantity: { value: '24.8', unit: 'KG' },
      consumedAt: '2024-05-02T09:41:00Z',
    });
    expect(envelopes[1]!.occurredAt).toBe('2024-05-02T09:41:00Z');
  });

  it('NotifyOperationsEvent with a Downtime category becomes a DowntimeEvent', () => {
    const { envelopes } = readB2mml(skeleton('V0700', 'NotifyOperationsEvent.xml'));
    expect(envelopes[0]!.document).toEqual({
      id: 'EVT-MIXER-01-20240502T071500Z',
      description: 'Unplanned stop: motor overload',
      equipmentId: 'MIXER-01',
      equipmentLevel: 'WorkUnit',
      startTime: '2024-05-02T07:15:00Z',
      recordedAt: '2024-05-02T07:15:02Z',
      lossCategory: 'Unplanned',
    });
  });

  it('V0600 ProcessProductionSchedule becomes the same ProductionOrder shape', () => {
    const { envelopes, release } = readB2mml(skeleton('V0600', 'ProcessProductionSchedule.xml'));
    expect(release).toBe('V0600');
    const order = envelopes[0]!.document as DocumentOf['ProductionOrder'];
    expect(order.segments[0]!.materials).toEqual([
      { id: 'MC-1', materialDefinitionId: 'RM-100', use: 'Consumed', quantity: { value: '25.0', unit: 'KG' } },
      { id: 'MP-1', materialDefinitionId: 'FG-500', use: 'Produced', quantity: { value: '100', unit: 'EA' } },
    ]);
    expect(order.segments[0]!.equipment).toEqual([{ id: 'ER-1', equipmentId: 'MIXER-01' }]);
  });
});

describe('reading documents written by other systems', () => {
  const prefixedSchedule = `<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by a SAP ME plug-in -->
<b2mml:SyncOperationsSchedule xmlns:b2mml="http://www.mesa.org/xml/B2MML" releaseID="V0700">
  <b2mml:ApplicationArea>
    <b2mml:Sender><b2mml:LogicalID>S4H-PRD-100</b2mml:LogicalID></b2mml:Sender>
    <b2mml:CreationDateTime>2025-02-11T22:14:05.120+01:00</b2mml:CreationDateTime>
  </b2mml:ApplicationArea>
  <b2mml:DataArea>
    <b2mml:Sync/>
    <b2mml:OperationsSchedule>
      <b2mml:ID>   WEEK-07   </b2mml:ID>
      <b2mml:OperationsRequest>
        <b2mml:ID>000070001234</b2mml:ID>
        <b2mml:OperationsType>Production</b2mml:OperationsType>
        <b2mml:RequestState>Ready</b2mml:RequestState>
        <b2mml:SegmentRequirement>
          <b2mml:ID>0010</b2mml:ID>
          <b2mml:ProcessSegmentID>FILL</b2mml:ProcessSegmentID>
          <b2mml:OperationsDefinitionID>R-77</b2mml:OperationsDefinitionID>
          <b2mml:OperationsSegmentID>0010</b2mml:OperationsSegmentID>
          <!-- component with batch -->
          <b2mml:MaterialRequirement>
            <b2mml:ID>0001</b2mml:ID>
            <b2mml:MaterialDefinitionID>000000000000100234</b2mml:MaterialDefinitionID>
            <b2mml:MaterialLotID>CH-2025-0007</b2mml:MaterialLotID>
            <b2mml:MaterialUse>Consumed</b2mml:MaterialUse>
            <b2mml:Quantity><b2mml:QuantityString>1234.5670</b2mml:QuantityString><b2mml:UnitOfMeasure>L</b2mml:UnitOfMeasure></b2mml:Quantity>
          </b2mml:MaterialRequirement>
        </b2mml:SegmentRequirement>
      </b2mml:OperationsRequest>
      <b2mml:OperationsRequest>
        <b2mml:ID>000070001235</b2mml:ID>
        <b2mml:OperationsType>Production</b2mml:OperationsType>
        <b2mml:SegmentRequirement>
          <b2mml:ID>0010</b2mml:ID>
          <b2mml:ProcessSegmentID>FILL</b2mml:ProcessSegmentID>
          <b2mml:OperationsDefinitionID>R-77</b2mml:OperationsDefinitionID>
          <b2mml:OperationsSegmentID>0010</b2mml:OperationsSegmentID>
        </b2mml:SegmentRequirement>
      </b2mml:OperationsRequest>
    </b2mml:OperationsSchedule>
  </b2mml:DataArea>
</b2mml:SyncOperationsSchedule>`;

  it('accepts the b2mml: prefix, comments, whitespace and several orders per schedule', () => {
    expect(xsdErrors(prefixedSchedule)).toBe('');
    const { envelopes, verb } = readB2mml(prefixedSchedule);
    expect(verb).toBe('Sync');
    expect(envelopes.map((envelope) => envelope.objectKey)).toEqual(['000070001234', '000070001235']);
    const order = envelopes[0]!.document as DocumentOf['ProductionOrder'];
    expect(order.scheduleId).toBe('WEEK-07');
    expect(order.segments[0]!.materials[0]).toEqual({
      id: '0001',
      materialDefinitionId: '000000000000100234',
      materialLotId: 'CH-2025-0007',
      use: 'Consumed',
      quantity: { value: '1234.5670', unit: 'L' },
    });
    expect(envelopes[0]!.occurredAt).toBe('2025-02-11T22:14:05.120+01:00');
  });

  it('reads material lots with genealogy and inventory movements from one MaterialInformation', () => {
    const xml = `<SyncMaterialInformation xmlns="http://www.mesa.org/xml/B2MML" releaseID="V0700">
      <ApplicationArea><CreationDateTime>2025-03-01T10:00:00Z</CreationDateTime></ApplicationArea>
      <DataArea><Sync/><MaterialInformation>
        <MaterialLot><ID>FG-LOT-9</ID><MaterialDefinitionID>FG-1</MaterialDefinitionID><Status>Released</Status>
          <Quantity><QuantityString>480.25</QuantityString><UnitOfMeasure>KG</UnitOfMeasure></Quantity>
          <AssemblyLot><ID>RM-LOT-1</ID></AssemblyLot><AssemblyLot><ID>RM-LOT-2</ID></AssemblyLot></MaterialLot>
        <MaterialLot><ID>RM-LOT-1</ID><MaterialDefinitionID>RM-1</MaterialDefinitionID>
          <MaterialLotProperty><ID>MovementID</ID><Value><ValueString>MV-1</ValueString></Value></MaterialLotProperty>
          <MaterialLotProperty><ID>MovementType</ID><Value><ValueString>Issue</ValueString></Value></MaterialLotProperty>
          <MaterialLotProperty><ID>FromLocation</ID><Value><ValueString>WH-1</ValueString></Value></MaterialLotProperty>
          <StorageLocation><Location>LINE-2</Location><LocationType>Operational Location ID</LocationType></StorageLocation>
          <Quantity><QuantityString>12.5</QuantityString><UnitOfMeasure>KG</UnitOfMeasure></Quantity></MaterialLot>
      </MaterialInformation></DataArea></SyncMaterialInformation>`;
    expect(xsdErrors(xml)).toBe('');
    const { envelopes } = readB2mml(xml);
    expect(envelopes.map((envelope) => envelope.type)).toEqual(['MaterialLot', 'InventoryMovement']);
    expect(envelopes[0]!.document).toMatchObject({
      assembledFromLotIds: ['RM-LOT-1', 'RM-LOT-2'],
      quantity: { value: '480.25', unit: 'KG' },
    });
    expect(envelopes[1]!.document).toEqual({
      id: 'MV-1',
      movementType: 'Issue',
      materialDefinitionId: 'RM-1',
      materialLotId: 'RM-LOT-1',
      quantity: { value: '12.5', unit: 'KG' },
      fromLocation: 'WH-1',
      toLocation: 'LINE-2',
    });
  });

  it('reads an equipment hierarchy, giving each child its parent', () => {
    const xml = `<SyncEquipmentInformation xmlns="http://www.mesa.org/xml/B2MML" releaseID="V0700">
      <ApplicationArea><CreationDateTime>2025-03-01T10:00:00Z</CreationDateTime></ApplicationArea>
      <DataArea><Sync/><EquipmentInformation><ID>EQ</ID>
        <Equipment><ID>LINE-1</ID><EquipmentLevel>ProductionLine</EquipmentLevel>
          <EquipmentChild><ID>FILLER-1</ID><EquipmentLevel>WorkUnit</EquipmentLevel></EquipmentChild>
        </Equipment>
      </EquipmentInformation></DataArea></SyncEquipmentInformation>`;
    expect(xsdErrors(xml)).toBe('');
    expect(readB2mml(xml).envelopes.map((envelope) => envelope.document)).toEqual([
      { id: 'LINE-1', equipmentLevel: 'ProductionLine', equipmentClassIds: [], properties: [] },
      {
        id: 'FILLER-1',
        equipmentLevel: 'WorkUnit',
        parent: { equipmentId: 'LINE-1', equipmentLevel: 'ProductionLine' },
        equipmentClassIds: [],
        properties: [],
      },
    ]);
  });
});
