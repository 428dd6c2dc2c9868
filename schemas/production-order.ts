/** ProductionOrder: what to make, how much, when, where and with which materials. */
import { Type, type Static } from '@sinclair/typebox';
import {
  DateTime,
  HierarchyScope,
  Identifier,
  MaterialUse,
  Property,
  Quantity,
  RequestState,
  documentOptions,
} from './common';

export const EquipmentRequirement = Type.Object(
  {
    id: Identifier,
    equipmentId: Type.Optional(Identifier),
    equipmentClassId: Type.Optional(Identifier),
    quantity: Type.Optional(Quantity),
  },
  { additionalProperties: false, description: 'Equipment a segment needs' },
);
export type EquipmentRequirement = Static<typeof EquipmentRequirement>;

export const MaterialRequirement = Type.Object(
  {
    id: Identifier,
    materialDefinitionId: Identifier,
    materialLotId: Type.Optional(Identifier),
    use: MaterialUse,
    quantity: Type.Optional(Quantity),
    storageLocation: Type.Optional(Identifier),
  },
  { additionalProperties: false, description: 'Material a segment consumes or produces' },
);
export type MaterialRequirement = Static<typeof MaterialRequirement>;

export const SegmentRequirement = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    processSegmentId: Identifier,
    operationsDefinitionId: Identifier,
    operationsSegmentId: Identifier,
    earliestStartTime: Type.Optional(DateTime),
    latestEndTime: Type.Optional(DateTime),
    equipment: Type.Array(EquipmentRequirement),
    materials: Type.Array(MaterialRequirement),
    parameters: Type.Optional(Type.Array(Property)),
  },
  { additionalProperties: false, description: 'One operation (routing step) of an order' },
);
export type SegmentRequirement = Static<typeof SegmentRequirement>;

export const ProductionOrder = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    scheduleId: Type.Optional(Identifier),
    operationsDefinitionId: Type.Optional(Identifier),
    state: Type.Optional(RequestState),
    priority: Type.Optional(Type.Integer()),
    startTime: Type.Optional(DateTime),
    endTime: Type.Optional(DateTime),
    hierarchyScope: Type.Optional(HierarchyScope),
    segments: Type.Array(SegmentRequirement, { minItems: 1 }),
  },
  documentOptions(
    'ProductionOrder',
    'What to make, how much, when, where, with which materials',
    'OperationsSchedule/OperationsRequest (OperationsType Production)',
  ),
);
export type ProductionOrder = Static<typeof ProductionOrder>;
