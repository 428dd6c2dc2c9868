/** QualityResult: a test on a sample or lot, its measured values, limits and disposition. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, HierarchyScope, Identifier, documentOptions } from './common';

export const Measurement = Type.Object(
  {
    property: Identifier,
    value: Type.String({ description: 'Measured value, verbatim (decimal, text or code)' }),
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    lowerLimit: Type.Optional(Type.String()),
    upperLimit: Type.Optional(Type.String()),
    target: Type.Optional(Type.String()),
    measuredAt: Type.Optional(DateTime),
  },
  { additionalProperties: false, description: 'One measured property with its specification limits' },
);
export type Measurement = Static<typeof Measurement>;

export const QualityResult = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    sampleId: Type.Optional(Identifier),
    testSpecificationId: Type.Optional(Identifier),
    materialLotId: Type.Optional(Identifier),
    orderId: Type.Optional(Identifier),
    evaluatedAt: Type.Optional(DateTime),
    disposition: Type.Optional(
      Type.String({ minLength: 1, description: 'Evaluated result, e.g. Pass, Fail, Conditional' }),
    ),
    hierarchyScope: Type.Optional(HierarchyScope),
    measurements: Type.Array(Measurement),
  },
  documentOptions('QualityResult', 'Test, sample, result, limits, disposition', 'OperationsTestInformation/TestResult'),
);
export type QualityResult = Static<typeof QualityResult>;
