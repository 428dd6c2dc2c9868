/** MaterialConsumption: one material (and lot) consumed by an order. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, HierarchyScope, Identifier, Quantity, documentOptions } from './common';

export const MaterialConsumption = Type.Object(
  {
    id: Identifier,
    orderId: Identifier,
    segmentResponseId: Identifier,
    materialDefinitionId: Identifier,
    materialLotId: Type.Optional(Identifier),
    materialSubLotId: Type.Optional(Identifier),
    quantity: Quantity,
    storageLocation: Type.Optional(Identifier),
    consumedAt: Type.Optional(DateTime),
    hierarchyScope: Type.Optional(HierarchyScope),
  },
  documentOptions(
    'MaterialConsumption',
    'Material and lot consumed by an order',
    'OperationsPerformance/OperationsResponse/SegmentResponse/MaterialActual (MaterialUse Consumed)',
  ),
);
export type MaterialConsumption = Static<typeof MaterialConsumption>;
