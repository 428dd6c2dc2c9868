/**
 * MaterialInformation ⇄ MaterialDefinition, MaterialLot and InventoryMovement. A MaterialLot
 * element carrying a `MovementType` property is an inventory movement; any other is a lot.
 */
import { EQUIPMENT_LEVELS } from '../common';
import type { InventoryMovement, MaterialDefinition, MaterialLot } from '../index';
import { MOVEMENT_TYPES } from '../inventory-movement';
import {
  fieldProperties,
  hierarchyScopeXml,
  locationXml,
  propertyXml,
  quantityXml,
  readLocation,
  readProperty,
  takeProperties,
} from './common-elements';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

const MOVEMENT_FIELDS = ['MovementID', 'MovementType', 'FromLocation', 'OrderID'] as const;
const DEFINITION_FIELDS = ['BaseUnitOfMeasure'] as const;

/** Reads every MaterialInformation in a DataArea. */
export function readMaterialInformation(dataArea: XmlCursor): ReadDocument[] {
  return dataArea
    .all('MaterialInformation')
    .flatMap((information) => [
      ...information.all('MaterialDefinition').map(readMaterialDefinition),
      ...information.all('MaterialLot').map(readLotOrMovement),
    ]);
}

function readMaterialDefinition(definition: XmlCursor): ReadDocument<'MaterialDefinition'> {
  const [fields, properties] = takeProperties(
    definition.all('MaterialDefinitionProperty').map(readProperty),
    DEFINITION_FIELDS,
  );
  const document: MaterialDefinition = compact({
    id: definition.requiredText('ID'),
    description: definition.text('Description'),
    baseUnit: fields.BaseUnitOfMeasure,
    materialClassIds: definition.texts('MaterialClassID'),
    properties,
  });
  return readDocument('MaterialDefinition', document, definition.path, { version: definition.integer('Version') });
}

function readLotOrMovement(lot: XmlCursor): ReadDocument {
  const [fields, properties] = takeProperties(lot.all('MaterialLotProperty').map(readProperty), MOVEMENT_FIELDS);
  return fields.MovementType === undefined ? readLot(lot) : readMovement(lot, fields, properties.length);
}

function readLot(lot: XmlCursor): ReadDocument<'MaterialLot'> {
  const document: MaterialLot = compact({
    id: lot.requiredText('ID'),
    description: lot.text('Description'),
    materialDefinitionId: lot.requiredText('MaterialDefinitionID'),
    status: lot.text('Status'),
    storageLocation: readLocation(lot),
    quantity: lot.quantity(),
    subLots: lot.all('MaterialSubLot').map((subLot) =>
      compact({
        id: subLot.requiredText('ID'),
        status: subLot.text('Status'),
        storageLocation: readLocation(subLot),
        quantity: subLot.quantity(),
      }),
    ),
    assembledFromLotIds: lot.all('AssemblyLot').map((assembly) => assembly.requiredText('ID')),
    properties: lot.all('MaterialLotProperty').map(readProperty),
    hierarchyScope: lot.hierarchyScope(EQUIPMENT_LEVELS),
  });
  return readDocument('MaterialLot', document, lot.path, { version: lot.integer('Version') });
}

function readMovement(
  lot: XmlCursor,
  fields: Record<string, string>,
  extraProperties: number,
): ReadDocument<'InventoryMovement'> {
  const movementType = fields.MovementType as InventoryMovement['movementType'];
  if (!(MOVEMENT_TYPES as readonly string[]).includes(movementType)) {
    lot.report(
      `${lot.path}/MaterialLotProperty`,
      `MovementType "${movementType}" is not one of ${MOVEMENT_TYPES.join(', ')}`,
    );
  }
  if (extraProperties > 0)
    lot.report(`${lot.path}/MaterialLotProperty`, `only ${MOVEMENT_FIELDS.join(', ')} are read on a movement`);
  const lotId = lot.requiredText('ID');
  const quantity = lot.quantity();
  if (!quantity) lot.report(`${lot.path}/Quantity`, 'required (the quantity moved)');
  const id = fields.MovementID ?? lotId;
  const document: InventoryMovement = compact({
    id,
    movementType,
    materialDefinitionId: lot.requiredText('MaterialDefinitionID'),
    materialLotId: lotId === id ? undefined : lotId,
    materialSubLotId: lot.one('MaterialSubLot')?.text('ID'),
    quantity: quantity ?? { value: '0' },
    fromLocation: fields.FromLocation,
    toLocation: readLocation(lot),
    orderId: fields.OrderID,
    movedAt: lot.dateTime('EffectiveStartDate'),
  });
  return readDocument('InventoryMovement', document, lot.path, { occurredAt: document.movedAt });
}

/** MaterialInformation holding the given definitions, lots and movements, in schema order. */
export function materialInformationXml(
  id: string,
  parts: { definitions: MaterialDefinition[]; lots: MaterialLot[]; movements: InventoryMovement[] },
): XmlBody {
  return element({
    ID: id,
    MaterialDefinition: parts.definitions.map(materialDefinitionXml),
    MaterialLot: [...parts.lots.map(materialLotXml), ...parts.movements.map(movementXml)],
  });
}

function materialDefinitionXml(definition: MaterialDefinition): XmlBody {
  const properties = [...fieldProperties({ BaseUnitOfMeasure: definition.baseUnit }), ...definition.properties];
  return element({
    ID: definition.id,
    Description: definition.description,
    MaterialDefinitionProperty: properties.map(propertyXml),
    MaterialClassID: definition.materialClassIds,
  });
}

function materialLotXml(lot: MaterialLot): XmlBody {
  return element({
    ID: lot.id,
    Description: lot.description,
    HierarchyScope: hierarchyScopeXml(lot.hierarchyScope),
    MaterialDefinitionID: lot.materialDefinitionId,
    Status: lot.status,
    MaterialLotProperty: lot.properties.map(propertyXml),
    MaterialSubLot: lot.subLots.map((subLot) =>
      element({
        ID: subLot.id,
        Status: subLot.status,
        StorageLocation: locationXml(subLot.storageLocation),
        Quantity: quantityXml(subLot.quantity),
      }),
    ),
    StorageLocation: locationXml(lot.storageLocation),
    Quantity: quantityXml(lot.quantity),
    AssemblyLot: lot.assembledFromLotIds.map((lotId) => element({ ID: lotId })),
  });
}

function movementXml(movement: InventoryMovement): XmlBody {
  const properties = fieldProperties({
    MovementID: movement.id,
    MovementType: movement.movementType,
    FromLocation: movement.fromLocation,
    OrderID: movement.orderId,
  });
  return element({
    ID: movement.materialLotId ?? movement.id,
    EffectiveStartDate: movement.movedAt,
    MaterialDefinitionID: movement.materialDefinitionId,
    MaterialLotProperty: properties.map(propertyXml),
    MaterialSubLot: movement.materialSubLotId === undefined ? undefined : element({ ID: movement.materialSubLotId }),
    StorageLocation: locationXml(movement.toLocation),
    Quantity: quantityXml(movement.quantity),
  });
}
