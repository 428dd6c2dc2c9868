/**
 * The canonical ISA-95 documents: one JSON Schema per type (with `$id`), TypeScript types
 * derived from the same schema objects, and the envelope they travel in.
 */
import type { TObject } from '@sinclair/typebox';
import { DowntimeEvent } from './downtime-event';
import type { EnvelopeShell } from './envelope';
import { Equipment } from './equipment';
import { InventoryMovement } from './inventory-movement';
import { MaintenanceRequest } from './maintenance-request';
import { MaintenanceWorkOrder } from './maintenance-work-order';
import { MaterialConsumption } from './material-consumption';
import { MaterialDefinition } from './material-definition';
import { MaterialLot } from './material-lot';
import { ProductionConfirmation } from './production-confirmation';
import { ProductionOrder } from './production-order';
import { QualityResult } from './quality-result';
import type { CanonicalType } from './types';

export { CANONICAL_TYPES, isCanonicalType, type CanonicalType } from './types';
export { Envelope, VERBS, type Verb } from './envelope';
export type { DowntimeEvent } from './downtime-event';
export type { Equipment } from './equipment';
export type { InventoryMovement } from './inventory-movement';
export type { MaintenanceRequest } from './maintenance-request';
export type { MaintenanceWorkOrder } from './maintenance-work-order';
export type { MaterialConsumption } from './material-consumption';
export type { MaterialDefinition } from './material-definition';
export type { MaterialLot } from './material-lot';
export type { ProductionConfirmation } from './production-confirmation';
export type { ProductionOrder } from './production-order';
export type { QualityResult } from './quality-result';

/** Schema of every canonical document type, by type name. */
export const documentSchemas = {
  ProductionOrder,
  ProductionConfirmation,
  MaterialConsumption,
  MaterialLot,
  InventoryMovement,
  QualityResult,
  DowntimeEvent,
  MaintenanceRequest,
  MaintenanceWorkOrder,
  Equipment,
  MaterialDefinition,
} satisfies Record<CanonicalType, TObject>;

/** The TypeScript type of each canonical document, by type name. */
export type DocumentOf = { [K in CanonicalType]: (typeof documentSchemas)[K]['static'] };

/** A canonical document in its envelope, typed by its `type`. */
export type CanonicalEnvelope<T extends CanonicalType = CanonicalType> = {
  [K in T]: Omit<EnvelopeShell, 'type' | 'document'> & { type: K; document: DocumentOf[K] };
}[T];
