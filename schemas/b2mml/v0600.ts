/**
 * B2MML V0600 ProductionSchedule and ProductionPerformance, still sent by older ERPs, read into
 * the same canonical documents as V0700. V0600 materials and equipment carry no IDs, so they
 * are numbered in document order (MP-1, MC-1, ER-1 …).
 */
import { EQUIPMENT_LEVELS, REQUEST_STATES, RESPONSE_STATES, type MATERIAL_USES } from '../common';
import type { ProductionConfirmation, ProductionOrder } from '../index';
import { consumptionOf } from './operations-performance';
import type { MaterialActual } from '../production-confirmation';
import type { MaterialRequirement, SegmentRequirement } from '../production-order';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';

/** Reads every ProductionSchedule in a V0600 DataArea. */
export function readProductionSchedules(dataArea: XmlCursor): ReadDocument[] {
  return dataArea.all('ProductionSchedule').flatMap((schedule) => {
    const scheduleId = schedule.text('ID');
    return schedule.all('ProductionRequest').map((request) => {
      const order: ProductionOrder = compact({
        id: request.requiredText('ID'),
        description: request.text('Description'),
        scheduleId,
        state: request.code('RequestState', REQUEST_STATES),
        priority: request.integer('Priority'),
        startTime: request.dateTime('StartTime'),
        endTime: request.dateTime('EndTime'),
        hierarchyScope: request.hierarchyScope(EQUIPMENT_LEVELS),
        segments: request.all('SegmentRequirement').map(readSegmentRequirement),
      });
      if (order.segments.length === 0) request.report(`${request.path}/SegmentRequirement`, 'required (at least one)');
      return readDocument('ProductionOrder', order, request.path);
    });
  });
}

function readSegmentRequirement(segment: XmlCursor, index: number): SegmentRequirement {
  const id = segment.text('ID') ?? String(index + 1);
  const processSegmentId = segment.text('ProcessSegmentID') ?? segment.text('ProductSegmentID') ?? id;
  const materials = (element: string, use: MaterialRequirement['use'], prefix: string) =>
    segment.all(element).map((material, position) =>
      compact({
        id: `${prefix}-${position + 1}`,
        materialDefinitionId: material.requiredText('MaterialDefinitionID'),
        materialLotId: material.text('MaterialLotID'),
        use,
        quantity: material.quantity(),
      }),
    );
  return compact({
    id,
    description: segment.text('Description'),
    processSegmentId,
    operationsDefinitionId: segment.text('ProductSegmentID') ?? processSegmentId,
    operationsSegmentId: id,
    earliestStartTime: segment.dateTime('EarliestStartTime'),
    latestEndTime: segment.dateTime('LatestEndTime'),
    equipment: segment.all('EquipmentRequirement').map((equipment, position) =>
      compact({
        id: `ER-${position + 1}`,
        equipmentId: equipment.text('EquipmentID'),
        equipmentClassId: equipment.text('EquipmentClassID'),
        quantity: equipment.quantity(),
      }),
    ),
    materials: [
      ...materials('MaterialConsumedRequirement', 'Consumed', 'MC'),
      ...materials('MaterialProducedRequirement', 'Produced', 'MP'),
    ],
  });
}

/** Reads every ProductionPerformance in a V0600 DataArea. */
export function readProductionPerformances(dataArea: XmlCursor): ReadDocument[] {
  return dataArea.all('ProductionPerformance').flatMap((performance) => {
    const performanceId = performance.text('ID');
    const scheduleId = performance.text('ProductionScheduleID');
    return performance
      .all('ProductionResponse')
      .flatMap((response) => readResponse(response, performanceId, scheduleId));
  });
}

function readResponse(response: XmlCursor, performanceId?: string, scheduleId?: string): ReadDocument[] {
  const confirmation: ProductionConfirmation = compact({
    id: response.requiredText('ID'),
    orderId: response.requiredText('ProductionRequestID'),
    performanceId,
    scheduleId,
    state: response.code('ResponseState', RESPONSE_STATES),
    startTime: response.dateTime('StartTime'),
    endTime: response.dateTime('EndTime'),
    hierarchyScope: response.hierarchyScope(EQUIPMENT_LEVELS),
    segments: response.all('SegmentResponse').map((segment, index) => {
      const actuals = (element: string, use: (typeof MATERIAL_USES)[number], prefix: string): MaterialActual[] =>
        segment.all(element).map((material, position) =>
          compact({
            id: `${prefix}-${position + 1}`,
            materialDefinitionId: material.requiredText('MaterialDefinitionID'),
            materialLotId: material.text('MaterialLotID'),
            materialSubLotId: material.text('MaterialSubLotID'),
            use,
            quantity: material.quantity(),
          }),
        );
      return compact({
        id: segment.text('ID') ?? String(index + 1),
        processSegmentId: segment.text('ProcessSegmentID'),
        state: segment.code('SegmentState', RESPONSE_STATES),
        actualStartTime: segment.dateTime('ActualStartTime'),
        actualEndTime: segment.dateTime('ActualEndTime'),
        equipment: segment.all('EquipmentActual').map((actual, position) =>
          compact({
            id: `EA-${position + 1}`,
            equipmentId: actual.requiredText('EquipmentID'),
            quantity: actual.quantity(),
          }),
        ),
        personnel: segment.all('PersonnelActual').map((actual, position) =>
          compact({
            id: `PA-${position + 1}`,
            personId: actual.requiredText('PersonID'),
            quantity: actual.quantity(),
          }),
        ),
        materials: [
          ...actuals('MaterialConsumedActual', 'Consumed', 'MCA'),
          ...actuals('MaterialProducedActual', 'Produced', 'MPA'),
        ],
      });
    }),
  });
  if (confirmation.segments.length === 0)
    response.report(`${response.path}/SegmentResponse`, 'required (at least one)');
  const documents: ReadDocument[] = [
    readDocument('ProductionConfirmation', confirmation, response.path, { occurredAt: confirmation.endTime }),
  ];
  for (const segment of confirmation.segments) {
    for (const material of segment.materials) {
      if (material.use !== 'Consumed' || !material.quantity) continue;
      const consumption = consumptionOf(confirmation, segment, { ...material, quantity: material.quantity });
      documents.push(
        readDocument('MaterialConsumption', consumption, response.path, { occurredAt: consumption.consumedAt }),
      );
    }
  }
  return documents;
}
