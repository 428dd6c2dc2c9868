/**
 * OperationsPerformance ⇄ ProductionConfirmation (one per OperationsResponse) and
 * MaterialConsumption (one per consumed MaterialActual, lots included).
 */
import { EQUIPMENT_LEVELS, MATERIAL_USES, RESPONSE_STATES, type HierarchyScope } from '../common';
import type { MaterialConsumption, ProductionConfirmation } from '../index';
import { QUANTITY_DISPOSITIONS, type MaterialActual, type SegmentResponse } from '../production-confirmation';
import {
  fieldProperties,
  hierarchyScopeXml,
  locationXml,
  propertyXml,
  quantityXml,
  readLocation,
  readProperty,
  takeProperties,
} from './common-elements';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

const CONSUMED: readonly string[] = ['Consumed', 'Material Consumed'];
const ACTUAL_FIELDS = ['Disposition', 'ConsumptionID'] as const;

/** Reads every OperationsPerformance in a DataArea. */
export function readOperationsPerformances(dataArea: XmlCursor): ReadDocument[] {
  return dataArea.all('OperationsPerformance').flatMap((performance) => {
    const performanceId = performance.requiredText('ID');
    const scheduleId = performance.text('OperationsScheduleID');
    const responses = performance.all('OperationsResponse');
    if (responses.length === 0) performance.report(`${performance.path}/OperationsResponse`, 'required (at least one)');
    return responses.flatMap((response) => readResponse(response, performanceId, scheduleId));
  });
}

function readResponse(response: XmlCursor, performanceId: string, scheduleId: string | undefined): ReadDocument[] {
  const segments = response.all('SegmentResponse');
  if (segments.length === 0) response.report(`${response.path}/SegmentResponse`, 'required (at least one)');
  const orderId =
    response.text('OperationsRequestID') ??
    segments.map((segment) => segment.text('OperationsRequestID')).find(Boolean);
  if (!orderId) response.report(`${response.path}/OperationsRequestID`, 'required (the order this confirms)');
  const hierarchyScope = response.hierarchyScope(EQUIPMENT_LEVELS);
  const confirmation: ProductionConfirmation = compact({
    id: response.requiredText('ID'),
    orderId: orderId ?? '',
    performanceId,
    scheduleId,
    state: response.code('ResponseState', RESPONSE_STATES),
    startTime: response.dateTime('StartTime'),
    endTime: response.dateTime('EndTime'),
    hierarchyScope,
    segments: segments.map(readSegmentResponse),
  });
  const version = response.integer('Version');
  const documents: ReadDocument[] = [
    readDocument('ProductionConfirmation', confirmation, response.path, { occurredAt: confirmation.endTime, version }),
  ];
  segments.forEach((segmentCursor, index) => {
    const segment = confirmation.segments[index]!;
    for (const [materialIndex, material] of segment.materials.entries()) {
      if (!CONSUMED.includes(material.use) || !material.quantity) continue;
      const quantity = material.quantity;
      const actual = segmentCursor.all('MaterialActual')[materialIndex]!;
      const [fields] = takeProperties(actual.all('MaterialActualProperty').map(readProperty), ACTUAL_FIELDS);
      const consumption = consumptionOf(
        confirmation,
        segment,
        { ...material, quantity },
        {
          id: fields.ConsumptionID,
          hierarchyScope:
            actual.hierarchyScope(EQUIPMENT_LEVELS) ?? segmentCursor.hierarchyScope(EQUIPMENT_LEVELS) ?? hierarchyScope,
        },
      );
      documents.push(
        readDocument('MaterialConsumption', consumption, actual.path, { occurredAt: consumption.consumedAt }),
      );
    }
  });
  return documents;
}

/** The MaterialConsumption a consumed material actual stands for; its id defaults to `<response>/<segment>/<actual>`. */
export function consumptionOf(
  confirmation: ProductionConfirmation,
  segment: SegmentResponse,
  material: MaterialActual & { quantity: NonNullable<MaterialActual['quantity']> },
  extra: { id?: string; hierarchyScope?: HierarchyScope } = {},
): MaterialConsumption {
  return compact({
    id: extra.id ?? `${confirmation.id}/${segment.id}/${material.id}`,
    orderId: confirmation.orderId,
    segmentResponseId: segment.id,
    materialDefinitionId: material.materialDefinitionId,
    materialLotId: material.materialLotId,
    materialSubLotId: material.materialSubLotId,
    quantity: material.quantity,
    storageLocation: material.storageLocation,
    consumedAt: segment.actualEndTime,
    hierarchyScope: extra.hierarchyScope,
  });
}

function readSegmentResponse(segment: XmlCursor): SegmentResponse {
  return compact({
    id: segment.requiredText('ID'),
    segmentRequirementId: segment.text('SegmentRequirementID'),
    processSegmentId: segment.text('ProcessSegmentID'),
    state: segment.code('SegmentState', RESPONSE_STATES),
    actualStartTime: segment.dateTime('ActualStartTime'),
    actualEndTime: segment.dateTime('ActualEndTime'),
    equipment: segment.all('EquipmentActual').map((actual) =>
      compact({
        id: actual.requiredText('ID'),
        equipmentId: actual.requiredText('EquipmentID'),
        quantity: actual.quantity(),
      }),
    ),
    personnel: segment.all('PersonnelActual').map((actual) =>
      compact({
        id: actual.requiredText('ID'),
        personId: actual.requiredText('PersonID'),
        quantity: actual.quantity(),
      }),
    ),
    materials: segment.all('MaterialActual').map(readMaterialActual),
  });
}

function readMaterialActual(actual: XmlCursor): MaterialActual {
  const [fields] = takeProperties(actual.all('MaterialActualProperty').map(readProperty), ACTUAL_FIELDS);
  const disposition = fields.Disposition;
  if (disposition !== undefined && !(QUANTITY_DISPOSITIONS as readonly string[]).includes(disposition)) {
    actual.report(
      `${actual.path}/MaterialActualProperty`,
      `Disposition "${disposition}" is not one of ${QUANTITY_DISPOSITIONS.join(', ')}`,
    );
  }
  const use = actual.code('MaterialUse', MATERIAL_USES);
  if (!actual.text('MaterialUse')) actual.report(`${actual.path}/MaterialUse`, 'required (Consumed or Produced)');
  return compact({
    id: actual.requiredText('ID'),
    materialDefinitionId: actual.requiredText('MaterialDefinitionID'),
    materialLotId: actual.text('MaterialLotID'),
    materialSubLotId: actual.text('MaterialSubLotID'),
    use: use ?? 'Other',
    quantity: actual.quantity(),
    disposition: disposition as MaterialActual['disposition'],
    storageLocation: readLocation(actual),
  });
}

/** An OperationsPerformance holding one OperationsResponse per confirmation or consumption. */
export function operationsPerformanceXml(
  performanceId: string,
  scheduleId: string | undefined,
  responses: XmlBody[],
): XmlBody {
  return element({ ID: performanceId, OperationsScheduleID: scheduleId, OperationsResponse: responses });
}

export function confirmationResponseXml(confirmation: ProductionConfirmation, version: number | undefined): XmlBody {
  return element({
    ID: confirmation.id,
    Version: version?.toString(),
    StartTime: confirmation.startTime,
    EndTime: confirmation.endTime,
    HierarchyScope: hierarchyScopeXml(confirmation.hierarchyScope),
    OperationsType: 'Production',
    OperationsRequestID: confirmation.orderId,
    ResponseState: confirmation.state,
    SegmentResponse: confirmation.segments.map((segment) =>
      element({
        ID: segment.id,
        ActualStartTime: segment.actualStartTime,
        ActualEndTime: segment.actualEndTime,
        ProcessSegmentID: segment.processSegmentId,
        SegmentRequirementID: segment.segmentRequirementId,
        SegmentState: segment.state,
        PersonnelActual: segment.personnel.map((actual) =>
          element({ ID: actual.id, PersonID: actual.personId, Quantity: quantityXml(actual.quantity) }),
        ),
        EquipmentActual: segment.equipment.map((actual) =>
          element({ ID: actual.id, EquipmentID: actual.equipmentId, Quantity: quantityXml(actual.quantity) }),
        ),
        MaterialActual: segment.materials.map((material) =>
          materialActualXml(material, fieldProperties({ Disposition: material.disposition })),
        ),
      }),
    ),
  });
}

/** A consumption travels as a response with one segment holding one consumed MaterialActual. */
export function consumptionResponseXml(consumption: MaterialConsumption): XmlBody {
  const material: MaterialActual = compact({
    id: consumption.id,
    materialDefinitionId: consumption.materialDefinitionId,
    materialLotId: consumption.materialLotId,
    materialSubLotId: consumption.materialSubLotId,
    use: 'Consumed',
    quantity: consumption.quantity,
    storageLocation: consumption.storageLocation,
  });
  return element({
    ID: consumption.id,
    OperationsType: 'Production',
    OperationsRequestID: consumption.orderId,
    SegmentResponse: element({
      ID: consumption.segmentResponseId,
      ActualEndTime: consumption.consumedAt,
      MaterialActual: materialActualXml(
        material,
        fieldProperties({ ConsumptionID: consumption.id }),
        consumption.hierarchyScope,
      ),
    }),
  });
}

function materialActualXml(
  material: MaterialActual,
  properties: ReturnType<typeof fieldProperties>,
  scope?: HierarchyScope,
): XmlBody {
  return element({
    ID: material.id,
    MaterialDefinitionID: material.materialDefinitionId,
    MaterialLotID: material.materialLotId,
    MaterialSubLotID: material.materialSubLotId,
    MaterialUse: material.use,
    StorageLocation: locationXml(material.storageLocation),
    Quantity: quantityXml(material.quantity),
    HierarchyScope: hierarchyScopeXml(scope),
    MaterialActualProperty: properties.map(propertyXml),
  });
}
