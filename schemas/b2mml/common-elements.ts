/** B2MML building blocks shared by every noun: quantities, hierarchy scope, locations, properties. */
import type { HierarchyScope, Property, Quantity } from '../common';
import { XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

/** B2MML QuantityValueType from a canonical quantity (the decimal string is written verbatim). */
export function quantityXml(quantity: Quantity | undefined): XmlBody | undefined {
  return quantity && element({ QuantityString: quantity.value, UnitOfMeasure: quantity.unit });
}

export function hierarchyScopeXml(scope: HierarchyScope | undefined): XmlBody | undefined {
  return scope && element({ EquipmentID: scope.equipmentId, EquipmentLevel: scope.equipmentLevel });
}

/** A storage location given by its identifier (ResourceLocationType "Operational Location ID"). */
export function locationXml(location: string | undefined): XmlBody | undefined {
  return location === undefined ? undefined : element({ Location: location, LocationType: 'Operational Location ID' });
}

export function readLocation(cursor: XmlCursor, name = 'StorageLocation'): string | undefined {
  return cursor.one(name)?.text('Location');
}

/** Property-like elements (ID + Value/ValueString + UnitOfMeasure): parameters, lot and equipment properties. */
export function propertyXml(property: Property): XmlBody {
  return element({ ID: property.id, Value: element({ ValueString: property.value, UnitOfMeasure: property.unit }) });
}

export function readProperty(cursor: XmlCursor): Property {
  const value = cursor.one('Value');
  const unit = value?.text('UnitOfMeasure');
  const property: Property = { id: cursor.requiredText('ID'), value: value?.one('ValueString')?.element.text ?? '' };
  return unit === undefined ? property : { ...property, unit };
}

/**
 * Splits properties into the ones Handover maps to canonical fields (by id) and the rest.
 * Used where B2MML has no element for a canonical field and it travels as a named property.
 */
export function takeProperties(properties: Property[], ids: readonly string[]): [Record<string, string>, Property[]] {
  const taken: Record<string, string> = {};
  const rest: Property[] = [];
  for (const property of properties) {
    if (ids.includes(property.id) && !(property.id in taken)) taken[property.id] = property.value;
    else rest.push(property);
  }
  return [taken, rest];
}

/** Properties for the canonical fields that travel as named properties, skipping absent ones. */
export function fieldProperties(fields: Record<string, string | undefined>): Property[] {
  return Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([id, value]) => ({ id, value }));
}
