/** MaterialLot: lot identity, quantity, status, location and genealogy. */
import { Type, type Static } from '@sinclair/typebox';
import { HierarchyScope, Identifier, Property, Quantity, documentOptions } from './common';

export const MaterialSubLot = Type.Object(
  {
    id: Identifier,
    status: Type.Optional(Identifier),
    storageLocation: Type.Optional(Identifier),
    quantity: Type.Optional(Quantity),
  },
  { additionalProperties: false, description: 'A sub-lot (container, pallet, drum) of a lot' },
);
export type MaterialSubLot = Static<typeof MaterialSubLot>;

export const MaterialLot = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    materialDefinitionId: Identifier,
    status: Type.Optional(Identifier),
    storageLocation: Type.Optional(Identifier),
    quantity: Type.Optional(Quantity),
    subLots: Type.Array(MaterialSubLot),
    assembledFromLotIds: Type.Array(Identifier, { description: 'Genealogy: the lots consumed to make this lot' }),
    properties: Type.Array(Property),
    hierarchyScope: Type.Optional(HierarchyScope),
  },
  documentOptions(
    'MaterialLot',
    'Lot identity, quantity, status, location and genealogy',
    'MaterialInformation/MaterialLot',
  ),
);
export type MaterialLot = Static<typeof MaterialLot>;
