/** MaintenanceRequest: operations asks maintenance to look at equipment. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, EquipmentLevel, Identifier, RequestState, documentOptions } from './common';

export const MaintenanceRequest = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    equipmentId: Identifier,
    equipmentLevel: EquipmentLevel,
    state: Type.Optional(RequestState),
    priority: Type.Optional(Type.Integer()),
    requestedAt: Type.Optional(DateTime),
    reasonCode: Type.Optional(Identifier),
    requestedBy: Type.Optional(Identifier),
    downtimeEventIds: Type.Optional(
      Type.Array(Identifier, {
        description: 'The DowntimeEvents that raised the request or recurred while it was open',
      }),
    ),
  },
  documentOptions(
    'MaintenanceRequest',
    'A request for maintenance raised by operations',
    'OperationsSchedule/OperationsRequest (OperationsType Maintenance, OperationsDefinitionID MaintenanceRequest)',
  ),
);
export type MaintenanceRequest = Static<typeof MaintenanceRequest>;
