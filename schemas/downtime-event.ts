/** DowntimeEvent: an equipment stop in context (order, shift, reason, OEE loss category). */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, EquipmentLevel, Identifier, documentOptions, literalUnion } from './common';

/** How a stop counts in the time model (docs/context.md). */
export const STOP_KINDS = ['stop', 'microStop', 'external', 'noOrder', 'excluded'] as const;

export const DowntimeEvent = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    equipmentId: Identifier,
    equipmentLevel: EquipmentLevel,
    startTime: DateTime,
    endTime: Type.Optional(DateTime),
    recordedAt: Type.Optional(DateTime),
    reasonCode: Type.Optional(Identifier),
    lossCategory: Type.Optional(Identifier),
    orderId: Type.Optional(Identifier),
    materialDefinitionId: Type.Optional(Identifier),
    shift: Type.Optional(Identifier),
    operationId: Type.Optional(Identifier),
    durationSeconds: Type.Optional(
      Type.Number({ minimum: 0, description: 'endTime − startTime in seconds, once the stop has ended' }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 400, description: 'The reason code’s name in the catalogue' })),
    stopKind: Type.Optional(
      literalUnion(STOP_KINDS, 'How the stop counts: a stop, a micro-stop, starved/blocked, no order, or excluded'),
    ),
  },
  documentOptions(
    'DowntimeEvent',
    'Equipment stop with start, end, reason code, loss category, order, shift',
    'OperationsEvent (Category Downtime)',
  ),
);
export type DowntimeEvent = Static<typeof DowntimeEvent>;
