/** InventoryMovement: material received, issued or moved between locations. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, Identifier, Quantity, documentOptions, literalUnion } from './common';

export const MOVEMENT_TYPES = ['Receipt', 'Issue', 'Transfer', 'Adjustment'] as const;

export const InventoryMovement = Type.Object(
  {
    id: Identifier,
    movementType: literalUnion(MOVEMENT_TYPES, 'Kind of movement'),
    materialDefinitionId: Identifier,
    materialLotId: Type.Optional(Identifier),
    materialSubLotId: Type.Optional(Identifier),
    quantity: Quantity,
    fromLocation: Type.Optional(Identifier),
    toLocation: Type.Optional(Identifier),
    orderId: Type.Optional(Identifier),
    movedAt: Type.Optional(DateTime),
  },
  documentOptions(
    'InventoryMovement',
    'Material moved, received or issued between locations',
    'MaterialInformation/MaterialLot (StorageLocation, Quantity, movement properties)',
  ),
);
export type InventoryMovement = Static<typeof InventoryMovement>;
