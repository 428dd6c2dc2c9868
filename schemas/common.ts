/**
 * Building blocks shared by every canonical document: identifiers, times, exact decimal
 * quantities, ISA-95 hierarchy scope and the B2MML code lists the documents use.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Base URI of every canonical schema `$id`. */
export const SCHEMA_BASE = 'https://handover.dev/schemas/v1/';

/** A non-empty identifier as ERP, MES and PLC systems use them (kept verbatim, leading zeros too). */
export const Identifier = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '\\S',
  description: 'Identifier, kept exactly as the owning system spells it (leading zeros included)',
  examples: ['PO-1000123'],
});

/** An RFC 3339 date-time with a time zone. */
export const DateTime = Type.String({
  format: 'date-time',
  description: 'RFC 3339 date-time with time zone',
  examples: ['2024-05-02T06:00:00Z'],
});

/**
 * Lexical form of an exact decimal: digits with an optional sign, fraction and exponent.
 * Kept as a string so that "12.375" stays 12.375 through every conversion.
 */
export const DECIMAL_PATTERN = '^[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?$';
const decimalRegExp = new RegExp(DECIMAL_PATTERN);

/** True when `text` is an exact decimal in the lexical form canonical quantities use. */
export function isDecimal(text: string): boolean {
  return decimalRegExp.test(text);
}

/** A quantity: exact decimal string plus unit of measure. */
export const Quantity = Type.Object(
  {
    value: Type.String({
      pattern: DECIMAL_PATTERN,
      description: 'Exact decimal value as a string (never a binary float)',
      examples: ['12.375'],
    }),
    unit: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        description: 'Unit of measure (UN/CEFACT or the sender’s code)',
        examples: ['KG'],
      }),
    ),
  },
  { additionalProperties: false, description: 'An exact decimal quantity with its unit of measure' },
);
export type Quantity = Static<typeof Quantity>;

/** ISA-95 equipment hierarchy levels (B2MML EquipmentLevel code list). */
export const EQUIPMENT_LEVELS = [
  'Enterprise',
  'Site',
  'Area',
  'ProcessCell',
  'Unit',
  'ProductionLine',
  'WorkCell',
  'ProductionUnit',
  'StorageZone',
  'StorageUnit',
  'WorkCenter',
  'WorkUnit',
  'EquipmentModule',
  'ControlModule',
  'Other',
] as const;
export const EquipmentLevel = literalUnion(EQUIPMENT_LEVELS, 'ISA-95 equipment hierarchy level');

/** Where in the equipment hierarchy a document applies. */
export const HierarchyScope = Type.Object(
  {
    equipmentId: Identifier,
    equipmentLevel: EquipmentLevel,
  },
  { additionalProperties: false, description: 'The equipment (and its ISA-95 level) a document is scoped to' },
);
export type HierarchyScope = Static<typeof HierarchyScope>;

/** B2MML RequestState code list: state of an order or request. */
export const REQUEST_STATES = [
  'Forecast',
  'Released',
  'Waiting',
  'Cancelled',
  'Ready',
  'Running',
  'Completed',
  'Aborted',
  'Held',
  'Suspended',
  'Closed',
  'Other',
] as const;
export const RequestState = literalUnion(REQUEST_STATES, 'State of a request (B2MML RequestState)');

/** B2MML ResponseState code list: state of a response or performance. */
export const RESPONSE_STATES = [
  'Waiting',
  'Ready',
  'Running',
  'Completed',
  'Aborted',
  'Held',
  'Paused',
  'Suspended',
  'Closed',
  'Other',
] as const;
export const ResponseState = literalUnion(RESPONSE_STATES, 'State of a response (B2MML ResponseState)');

/** B2MML MaterialUse code list. */
export const MATERIAL_USES = [
  'Consumable',
  'Consumed',
  'Produced',
  'By-product Produced',
  'Co-product Produced',
  'Yield Produced',
  'Material Consumed',
  'Material Produced',
  'Destructive Sample',
  'Returned Sample',
  'Retained Sample',
  'Inventoried',
  'Other',
] as const;
export const MaterialUse = literalUnion(MATERIAL_USES, 'How a material is used (B2MML MaterialUse)');

/** A named value that has no dedicated field (B2MML properties and parameters). */
export const Property = Type.Object(
  {
    id: Identifier,
    value: Type.String({ description: 'Value, kept verbatim' }),
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  },
  { additionalProperties: false, description: 'A named value' },
);
export type Property = Static<typeof Property>;

/** A JSON Schema string enum built from a readonly list, so the list and the type agree. */
export function literalUnion<T extends readonly string[]>(
  values: T,
  description: string,
): TSchema & { static: T[number] } {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

/** Options every canonical document schema shares. */
export function documentOptions(name: string, description: string, b2mml: string) {
  return {
    $id: `${SCHEMA_BASE}${name}.json`,
    title: name,
    description,
    additionalProperties: false,
    'x-b2mml': b2mml,
  } as const;
}
