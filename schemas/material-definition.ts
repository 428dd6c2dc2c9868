/** MaterialDefinition: material master data. */
import { Type, type Static } from '@sinclair/typebox';
import { Identifier, Property, documentOptions } from './common';

export const MaterialDefinition = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    baseUnit: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    materialClassIds: Type.Array(Identifier),
    properties: Type.Array(Property),
  },
  documentOptions('MaterialDefinition', 'Material master data', 'MaterialInformation/MaterialDefinition'),
);
export type MaterialDefinition = Static<typeof MaterialDefinition>;
