/** The shape of a mapping file (YAML): identity, direction, how it is selected, and its JSONata expressions. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CANONICAL_TYPES } from '../../schemas/types';

const Expression = Type.String({ minLength: 1, description: 'A JSONata expression' });
const CanonicalTypeName = Type.Unsafe<(typeof CANONICAL_TYPES)[number]>({ type: 'string', enum: [...CANONICAL_TYPES] });

export const MappingFile = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Stable id, recorded with every message it maps' }),
    version: Type.Integer({ minimum: 1, description: 'Bumped on every change; recorded with every message' }),
    description: Type.Optional(Type.String()),
    system: Type.String({
      description: 'The system whose payloads (inbound) or whose deliveries (outbound) this maps',
    }),
    direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
    contentType: Type.Union([Type.Literal('json'), Type.Literal('xml')], {
      description: 'Payload format on the system side',
    }),
    match: Type.Optional(Expression),
    /** Inbound: the canonical type produced. Outbound: the canonical types consumed. */
    types: Type.Array(CanonicalTypeName, { minItems: 1 }),
    /** Inbound: payload → a document or an array of documents. Outbound: envelope → the system's payload. */
    expression: Expression,
    objectKey: Type.Optional(Expression),
    occurredAt: Type.Optional(Expression),
    objectVersion: Type.Optional(Expression),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 60000,
        description: 'Time limit of one expression evaluation in milliseconds (default 1000)',
      }),
    ),
    /** Outbound XML: the root element the result is written under. */
    root: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type MappingFile = Static<typeof MappingFile>;

const OneOrEach = <T extends TSchema>(item: T) => Type.Union([item, Type.Array(item)]);

export const MappingCase = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    /** The system payload (inbound) or canonical envelope (outbound); a string for XML. */
    input: Type.Unknown(),
    /** Inbound: the canonical documents. Outbound: the payload (object, or XML text). */
    expected: Type.Unknown(),
    /** Inbound: the object key of each document (one value, or one per document). */
    objectKey: Type.Optional(OneOrEach(Type.String())),
    /** Inbound: when each document's fact happened, as the mapping states it. */
    occurredAt: Type.Optional(OneOrEach(Type.String())),
    /** Inbound: the sender's version of each document's object. */
    version: Type.Optional(OneOrEach(Type.Integer())),
  },
  { additionalProperties: false },
);
export const MappingTests = Type.Object(
  { cases: Type.Array(MappingCase, { minItems: 1 }) },
  { additionalProperties: false },
);
export type MappingCase = Static<typeof MappingCase>;
