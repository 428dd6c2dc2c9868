/** MaintenanceWorkOrder: the CMMS work order and its status. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, EquipmentLevel, Identifier, RequestState, documentOptions } from './common';

export const MaintenanceWorkOrder = Type.Object(
  {
    id: Identifier,
    description: Type.Optional(Type.String()),
    equipmentId: Identifier,
    equipmentLevel: EquipmentLevel,
    requestId: Type.Optional(Identifier),
    workType: Type.Optional(Identifier),
    state: Type.Optional(RequestState),
    externalStatus: Type.Optional(Identifier),
    priority: Type.Optional(Type.Integer()),
    scheduledStart: Type.Optional(DateTime),
    scheduledEnd: Type.Optional(DateTime),
  },
  documentOptions(
    'MaintenanceWorkOrder',
    'The CMMS work order and its status',
    'OperationsSchedule/OperationsRequest (OperationsType Maintenance)',
  ),
);
export type MaintenanceWorkOrder = Static<typeof MaintenanceWorkOrder>;
