/** The names of the canonical document types, in the order DESIGN.md lists them. */
export const CANONICAL_TYPES = [
  'ProductionOrder',
  'ProductionConfirmation',
  'MaterialConsumption',
  'MaterialLot',
  'InventoryMovement',
  'QualityResult',
  'DowntimeEvent',
  'MaintenanceRequest',
  'MaintenanceWorkOrder',
  'Equipment',
  'MaterialDefinition',
] as const;
export type CanonicalType = (typeof CANONICAL_TYPES)[number];

/** True when `name` is one of the canonical document types. */
export function isCanonicalType(name: string): name is CanonicalType {
  return (CANONICAL_TYPES as readonly string[]).includes(name);
}
