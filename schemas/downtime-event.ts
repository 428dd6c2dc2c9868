/** DowntimeEvent: an equipment stop in context (order, shift, reason, OEE loss category). */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, EquipmentLevel, Identifier, documentOptions } from './common';

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
  },
  documentOptions(
    'DowntimeEvent',
    'Equipment stop with start, end, reason code, loss category, order, shift',
    'OperationsEvent (Category Downtime)',
  ),
);
export type DowntimeEvent = Static<typeof DowntimeEvent>;
