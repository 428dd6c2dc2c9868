/** EquipmentInformation ⇄ Equipment master data; nested EquipmentChild elements become documents with a parent. */
import { EQUIPMENT_LEVELS, type HierarchyScope } from '../common';
import type { Equipment } from '../index';
import { hierarchyScopeXml, propertyXml, readProperty } from './common-elements';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

/** Reads every EquipmentInformation in a DataArea, flattening the hierarchy. */
export function readEquipmentInformation(dataArea: XmlCursor): ReadDocument[] {
  return dataArea
    .all('EquipmentInformation')
    .flatMap((information) => information.all('Equipment').flatMap((equipment) => readEquipment(equipment, undefined)));
}

function readEquipment(equipment: XmlCursor, parent: HierarchyScope | undefined): ReadDocument[] {
  const level = equipment.code('EquipmentLevel', EQUIPMENT_LEVELS);
  if (!equipment.text('EquipmentLevel')) equipment.report(`${equipment.path}/EquipmentLevel`, 'required');
  const document: Equipment = compact({
    id: equipment.requiredText('ID'),
    description: equipment.text('Description'),
    equipmentLevel: level ?? 'Other',
    parent: parent ?? equipment.hierarchyScope(EQUIPMENT_LEVELS),
    equipmentClassIds: equipment.texts('EquipmentClassID'),
    properties: equipment.all('EquipmentProperty').map(readProperty),
  });
  const self = { equipmentId: document.id, equipmentLevel: document.equipmentLevel };
  return [
    readDocument('Equipment', document, equipment.path, { version: equipment.integer('Version') }),
    ...equipment.all('EquipmentChild').flatMap((child) => readEquipment(child, self)),
  ];
}

/** EquipmentInformation listing each equipment flat, its parent in HierarchyScope. */
export function equipmentInformationXml(id: string, equipment: Equipment[]): XmlBody {
  return element({
    ID: id,
    Equipment: equipment.map((item) =>
      element({
        ID: item.id,
        Description: item.description,
        HierarchyScope: hierarchyScopeXml(item.parent),
        EquipmentLevel: item.equipmentLevel,
        EquipmentProperty: item.properties.map(propertyXml),
        EquipmentClassID: item.equipmentClassIds,
      }),
    ),
  });
}
