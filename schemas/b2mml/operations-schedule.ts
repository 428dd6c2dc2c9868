/**
 * OperationsSchedule ⇄ ProductionOrder, MaintenanceRequest and MaintenanceWorkOrder: one
 * canonical document per OperationsRequest, chosen by its OperationsType.
 */
import { EQUIPMENT_LEVELS, MATERIAL_USES, REQUEST_STATES, type Property } from '../common';
import type { MaintenanceRequest, MaintenanceWorkOrder, ProductionOrder } from '../index';
import type { SegmentRequirement } from '../production-order';
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

const OPERATIONS_TYPES = ['Production', 'Maintenance', 'Quality', 'Inventory', 'Mixed', 'Other'] as const;
/** OperationsDefinitionID that marks a maintenance OperationsRequest as a request (not a CMMS work order). */
export const MAINTENANCE_REQUEST_DEFINITION = 'MaintenanceRequest';
const MAINTENANCE_WORK_ORDER_DEFINITION = 'MaintenanceWorkOrder';
const MAINTENANCE_REQUEST_FIELDS = ['ReasonCode', 'RequestedBy'] as const;
const WORK_ORDER_FIELDS = ['WorkType', 'ExternalStatus', 'RequestID'] as const;

/** Reads every OperationsSchedule in a DataArea. */
export function readOperationsSchedules(dataArea: XmlCursor): ReadDocument[] {
  return dataArea.all('OperationsSchedule').flatMap(readSchedule);
}

function readSchedule(schedule: XmlCursor): ReadDocument[] {
  const scheduleId = schedule.requiredText('ID');
  const scheduleType = schedule.code('OperationsType', OPERATIONS_TYPES);
  const requests = schedule.all('OperationsRequest');
  if (requests.length === 0) schedule.report(`${schedule.path}/OperationsRequest`, 'required (at least one)');
  return requests.map((request) => {
    const operationsType = request.code('OperationsType', OPERATIONS_TYPES) ?? scheduleType ?? 'Production';
    if (operationsType !== 'Maintenance') return readProductionOrder(request, scheduleId);
    return request.text('OperationsDefinitionID') === MAINTENANCE_REQUEST_DEFINITION
      ? readMaintenanceRequest(request)
      : readMaintenanceWorkOrder(request);
  });
}

function readProductionOrder(request: XmlCursor, scheduleId: string): ReadDocument<'ProductionOrder'> {
  const segments = request.all('SegmentRequirement');
  if (segments.length === 0) request.report(`${request.path}/SegmentRequirement`, 'required (at least one)');
  const order: ProductionOrder = compact({
    id: request.requiredText('ID'),
    description: request.text('Description'),
    scheduleId,
    operationsDefinitionId: request.text('OperationsDefinitionID'),
    state: request.code('RequestState', REQUEST_STATES),
    priority: request.integer('Priority'),
    startTime: request.dateTime('StartTime'),
    endTime: request.dateTime('EndTime'),
    hierarchyScope: request.hierarchyScope(EQUIPMENT_LEVELS),
    segments: segments.map(readSegmentRequirement),
  });
  return readDocument('ProductionOrder', order, request.path, { version: request.integer('Version') });
}

/** Reads a V0700 SegmentRequirement (V0600 has its own reader: its materials differ). */
function readSegmentRequirement(segment: XmlCursor): SegmentRequirement {
  return compact({
    id: segment.requiredText('ID'),
    description: segment.text('Description'),
    processSegmentId: segment.requiredText('ProcessSegmentID'),
    operationsDefinitionId: segment.requiredText('OperationsDefinitionID'),
    operationsSegmentId: segment.requiredText('OperationsSegmentID'),
    earliestStartTime: segment.dateTime('EarliestStartTime'),
    latestEndTime: segment.dateTime('LatestEndTime'),
    equipment: segment.all('EquipmentRequirement').map((equipment) =>
      compact({
        id: equipment.requiredText('ID'),
        equipmentId: equipment.text('EquipmentID'),
        equipmentClassId: equipment.text('EquipmentClassID'),
        quantity: equipment.quantity(),
      }),
    ),
    materials: segment.all('MaterialRequirement').map((material) => {
      const use = material.code('MaterialUse', MATERIAL_USES);
      if (!material.text('MaterialUse'))
        material.report(`${material.path}/MaterialUse`, 'required (Consumed or Produced)');
      return compact({
        id: material.requiredText('ID'),
        materialDefinitionId: material.requiredText('MaterialDefinitionID'),
        materialLotId: material.text('MaterialLotID'),
        use: use ?? 'Other',
        quantity: material.quantity(),
        storageLocation: readLocation(material),
      });
    }),
    parameters: optionalList(segment.all('SegmentParameter').map(readProperty)),
  });
}

function readMaintenanceRequest(request: XmlCursor): ReadDocument<'MaintenanceRequest'> {
  const [fields] = takeProperties(maintenanceParameters(request), MAINTENANCE_REQUEST_FIELDS);
  const scope = maintenanceEquipment(request);
  const document: MaintenanceRequest = compact({
    id: request.requiredText('ID'),
    description: request.text('Description'),
    equipmentId: scope.equipmentId,
    equipmentLevel: scope.equipmentLevel,
    state: request.code('RequestState', REQUEST_STATES),
    priority: request.integer('Priority'),
    requestedAt: request.dateTime('StartTime'),
    reasonCode: fields.ReasonCode,
    requestedBy: fields.RequestedBy,
  });
  return readDocument('MaintenanceRequest', document, request.path, {
    occurredAt: document.requestedAt,
    version: request.integer('Version'),
  });
}

function readMaintenanceWorkOrder(request: XmlCursor): ReadDocument<'MaintenanceWorkOrder'> {
  const [fields] = takeProperties(maintenanceParameters(request), WORK_ORDER_FIELDS);
  const scope = maintenanceEquipment(request);
  const document: MaintenanceWorkOrder = compact({
    id: request.requiredText('ID'),
    description: request.text('Description'),
    equipmentId: scope.equipmentId,
    equipmentLevel: scope.equipmentLevel,
    requestId: fields.RequestID,
    workType: fields.WorkType,
    state: request.code('RequestState', REQUEST_STATES),
    externalStatus: fields.ExternalStatus,
    priority: request.integer('Priority'),
    scheduledStart: request.dateTime('StartTime'),
    scheduledEnd: request.dateTime('EndTime'),
  });
  return readDocument('MaintenanceWorkOrder', document, request.path, { version: request.integer('Version') });
}

function maintenanceParameters(request: XmlCursor): Property[] {
  return request.all('SegmentRequirement').flatMap((segment) => segment.all('SegmentParameter').map(readProperty));
}

/** The equipment to maintain: the request's HierarchyScope, else the first equipment requirement. */
function maintenanceEquipment(request: XmlCursor): {
  equipmentId: string;
  equipmentLevel: (typeof EQUIPMENT_LEVELS)[number];
} {
  const scope = request.hierarchyScope(EQUIPMENT_LEVELS);
  if (scope) return scope;
  const equipmentId = request.one('SegmentRequirement')?.one('EquipmentRequirement')?.text('EquipmentID');
  if (!equipmentId) request.report(`${request.path}/HierarchyScope`, 'required (the equipment to maintain)');
  return { equipmentId: equipmentId ?? '', equipmentLevel: 'Other' };
}

function optionalList<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

/** Writes one OperationsRequest per document, under a schedule. */
export function operationsScheduleXml(
  scheduleId: string,
  documents: Array<ProductionOrder | MaintenanceRequest | MaintenanceWorkOrder>,
  types: Array<'ProductionOrder' | 'MaintenanceRequest' | 'MaintenanceWorkOrder'>,
  versions: Array<number | undefined>,
): XmlBody {
  return element({
    ID: scheduleId,
    OperationsRequest: documents.map((document, index) => {
      const version = versions[index] === undefined ? undefined : String(versions[index]);
      switch (types[index]) {
        case 'MaintenanceRequest':
          return maintenanceRequestXml(document as MaintenanceRequest, version);
        case 'MaintenanceWorkOrder':
          return workOrderXml(document as MaintenanceWorkOrder, version);
        default:
          return productionOrderXml(document as ProductionOrder, version);
      }
    }),
  });
}

function productionOrderXml(order: ProductionOrder, version: string | undefined): XmlBody {
  return element({
    ID: order.id,
    Description: order.description,
    Version: version,
    StartTime: order.startTime,
    EndTime: order.endTime,
    HierarchyScope: hierarchyScopeXml(order.hierarchyScope),
    OperationsType: 'Production',
    Priority: order.priority?.toString(),
    RequestState: order.state,
    OperationsDefinitionID: order.operationsDefinitionId,
    SegmentRequirement: order.segments.map((segment) =>
      element({
        ID: segment.id,
        Description: segment.description,
        EarliestStartTime: segment.earliestStartTime,
        LatestEndTime: segment.latestEndTime,
        ProcessSegmentID: segment.processSegmentId,
        OperationsDefinitionID: segment.operationsDefinitionId,
        OperationsSegmentID: segment.operationsSegmentId,
        SegmentParameter: (segment.parameters ?? []).map(propertyXml),
        EquipmentRequirement: segment.equipment.map((equipment) =>
          element({
            ID: equipment.id,
            EquipmentClassID: equipment.equipmentClassId,
            EquipmentID: equipment.equipmentId,
            Quantity: quantityXml(equipment.quantity),
          }),
        ),
        MaterialRequirement: segment.materials.map((material) =>
          element({
            ID: material.id,
            MaterialDefinitionID: material.materialDefinitionId,
            MaterialLotID: material.materialLotId,
            MaterialUse: material.use,
            StorageLocation: locationXml(material.storageLocation),
            Quantity: quantityXml(material.quantity),
          }),
        ),
      }),
    ),
  });
}

function maintenanceXml(
  document: MaintenanceRequest | MaintenanceWorkOrder,
  definition: string,
  version: string | undefined,
  times: { start?: string; end?: string },
  parameters: Property[],
): XmlBody {
  return element({
    ID: document.id,
    Description: document.description,
    Version: version,
    StartTime: times.start,
    EndTime: times.end,
    HierarchyScope: hierarchyScopeXml({ equipmentId: document.equipmentId, equipmentLevel: document.equipmentLevel }),
    OperationsType: 'Maintenance',
    Priority: document.priority?.toString(),
    RequestState: document.state,
    OperationsDefinitionID: definition,
    SegmentRequirement: element({
      ID: definition,
      ProcessSegmentID: definition,
      OperationsDefinitionID: definition,
      OperationsSegmentID: definition,
      SegmentParameter: parameters.map(propertyXml),
    }),
  });
}

function maintenanceRequestXml(request: MaintenanceRequest, version: string | undefined): XmlBody {
  const parameters = fieldProperties({ ReasonCode: request.reasonCode, RequestedBy: request.requestedBy });
  return maintenanceXml(request, MAINTENANCE_REQUEST_DEFINITION, version, { start: request.requestedAt }, parameters);
}

function workOrderXml(workOrder: MaintenanceWorkOrder, version: string | undefined): XmlBody {
  const parameters = fieldProperties({
    WorkType: workOrder.workType,
    ExternalStatus: workOrder.externalStatus,
    RequestID: workOrder.requestId,
  });
  const times = { start: workOrder.scheduledStart, end: workOrder.scheduledEnd };
  return maintenanceXml(workOrder, MAINTENANCE_WORK_ORDER_DEFINITION, version, times, parameters);
}
