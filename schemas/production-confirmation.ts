/** ProductionConfirmation: what an order segment actually produced, consumed and used. */
import { Type, type Static } from '@sinclair/typebox';
import {
  DateTime,
  HierarchyScope,
  Identifier,
  MaterialUse,
  Quantity,
  ResponseState,
  documentOptions,
  literalUnion,
} from './common';

/** Whether produced material is good, scrap or rework (B2MML has no element; carried as a property). */
export const QUANTITY_DISPOSITIONS = ['Good', 'Scrap', 'Rework'] as const;

export const MaterialActual = Type.Object(
  {
    id: Identifier,
    materialDefinitionId: Identifier,
    materialLotId: Type.Optional(Identifier),
    materialSubLotId: Type.Optional(Identifier),
    use: MaterialUse,
    quantity: Type.Optional(Quantity),
    disposition: Type.Optional(literalUnion(QUANTITY_DISPOSITIONS, 'Good, scrap or rework (produced material)')),
    storageLocation: Type.Optional(Identifier),
  },
  { additionalProperties: false, description: 'Material actually consumed or produced' },
);
export type MaterialActual = Static<typeof MaterialActual>;

export const EquipmentActual = Type.Object(
  { id: Identifier, equipmentId: Identifier, quantity: Type.Optional(Quantity) },
  { additionalProperties: false, description: 'Equipment actually used, usually with hours' },
);
export const PersonnelActual = Type.Object(
  { id: Identifier, personId: Identifier, quantity: Type.Optional(Quantity) },
  { additionalProperties: false, description: 'Person actually working, usually with hours' },
);

export const SegmentResponse = Type.Object(
  {
    id: Identifier,
    segmentRequirementId: Type.Optional(Identifier),
    processSegmentId: Type.Optional(Identifier),
    state: Type.Optional(ResponseState),
    actualStartTime: Type.Optional(DateTime),
    actualEndTime: Type.Optional(DateTime),
    equipment: Type.Array(EquipmentActual),
    personnel: Type.Array(PersonnelActual),
    materials: Type.Array(MaterialActual),
  },
  { additionalProperties: false, description: 'What happened in one segment of an order' },
);
export type SegmentResponse = Static<typeof SegmentResponse>;

export const ProductionConfirmation = Type.Object(
  {
    id: Identifier,
    orderId: Identifier,
    performanceId: Type.Optional(Identifier),
    scheduleId: Type.Optional(Identifier),
    state: Type.Optional(ResponseState),
    startTime: Type.Optional(DateTime),
    endTime: Type.Optional(DateTime),
    hierarchyScope: Type.Optional(HierarchyScope),
    segments: Type.Array(SegmentResponse, { minItems: 1 }),
  },
  documentOptions(
    'ProductionConfirmation',
    'Produced, scrapped and reworked quantities and times for an order',
    'OperationsPerformance/OperationsResponse/SegmentResponse',
  ),
);
export type ProductionConfirmation = Static<typeof ProductionConfirmation>;
