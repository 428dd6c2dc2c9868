/** Equipment: master data of the ISA-95 equipment hierarchy. */
import { Type, type Static } from '@sinclair/typebox';
import { EquipmentLevel, HierarchyScope, Identifier, Property, documentOptions } from './common';

export const Equipment = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    equipmentLevel: EquipmentLevel,
    parent: Type.Optional(HierarchyScope),
    equipmentClassIds: Type.Array(Identifier),
    properties: Type.Array(Property),
  },
  documentOptions(
    'Equipment',
    'ISA-95 equipment hierarchy master data (Enterprise/Site/Area/WorkCenter/WorkUnit)',
    'EquipmentInformation/Equipment',
  ),
);
export type Equipment = Static<typeof Equipment>;
