/**
 * The B2MML the simulated ERP exchanges: the ProcessOperationsSchedule it releases an order in
 * (B2MML V0700, read by the hub's codec), and the order states the hub sends it back
 * (route order-state-to-erp), read with the same codec.
 */
import { readB2mml } from '../../../schemas/b2mml/index';
import {
  OPERATION,
  OPERATION_TEXT,
  PROCESS_SEGMENT,
  ROUTING,
  WORK_CENTER,
  componentsOf,
  isoSeconds,
  produced,
  sapNumber,
  xmlText,
  type OrderVersion,
} from './erp-orders';
import { LINE } from './scenario';

/**
 * The ProcessOperationsSchedule of an order version: one OperationsRequest scoped to the line (a
 * WorkCenter), its version in `Version` (the hub orders ERP's versions by it), created at
 * `createdAt`. The request's ID is the order number without SAP's leading zeros, as the hub's LOIPRO01
 * mapping writes order ids, so both orders are known by the same kind of key.
 */
export function processOperationsSchedule(order: OrderVersion): string {
  const field = (name: string, value: string | number) => `<${name}>${xmlText(value)}</${name}>`;
  const quantity = (value: number, unit: string) =>
    `<Quantity>${field('QuantityString', value)}${field('UnitOfMeasure', unit)}</Quantity>`;
  const materials = [
    ...componentsOf(order).map(
      (line) =>
        `          <MaterialRequirement>${[
          field('ID', line.position),
          field('MaterialDefinitionID', line.material),
          field('MaterialLotID', line.lot),
          field('MaterialUse', 'Consumed'),
          quantity(line.quantity, line.unit),
        ].join('')}</MaterialRequirement>`,
    ),
    `          <MaterialRequirement>${[
      field('ID', 'HEADER'),
      field('MaterialDefinitionID', produced.material),
      field('MaterialUse', 'Produced'),
      quantity(order.quantity, produced.unit),
    ].join('')}</MaterialRequirement>`,
  ];
  const created = isoSeconds(order.createdAt);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ProcessOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML" releaseID="V0700">',
    '  <ApplicationArea>',
    '    <Sender><LogicalID>ERP</LogicalID></Sender>',
    `    ${field('CreationDateTime', created)}`,
    `    ${field('BODID', `erp-${order.orderId}-v${order.version}`)}`,
    '  </ApplicationArea>',
    '  <DataArea>',
    '    <Process/>',
    '    <OperationsSchedule>',
    `      ${field('ID', `SCHED-${created.slice(0, 10)}-${LINE}`)}`,
    '      <OperationsType>Production</OperationsType>',
    '      <OperationsRequest>',
    `        ${field('ID', sapNumber(order.orderId))}`,
    `        ${field('Description', produced.description)}`,
    `        ${field('Version', order.version)}`,
    `        ${field('StartTime', isoSeconds(order.start))}`,
    `        ${field('EndTime', isoSeconds(order.due))}`,
    `        <HierarchyScope>${field('EquipmentID', LINE)}${field('EquipmentLevel', 'WorkCenter')}</HierarchyScope>`,
    '        <OperationsType>Production</OperationsType>',
    '        <RequestState>Released</RequestState>',
    `        ${field('OperationsDefinitionID', ROUTING)}`,
    '        <SegmentRequirement>',
    `          ${field('ID', OPERATION)}`,
    `          ${field('Description', OPERATION_TEXT)}`,
    `          ${field('ProcessSegmentID', PROCESS_SEGMENT)}`,
    `          ${field('OperationsDefinitionID', ROUTING)}`,
    `          ${field('OperationsSegmentID', OPERATION)}`,
    `          <EquipmentRequirement>${field('ID', 'ARBPL')}${field('EquipmentID', WORK_CENTER)}</EquipmentRequirement>`,
    ...materials,
    '        </SegmentRequirement>',
    '      </OperationsRequest>',
    '    </OperationsSchedule>',
    '  </DataArea>',
    '</ProcessOperationsSchedule>',
    '',
  ].join('\n');
}

/** The state of each ProductionOrder a B2MML document carries, by the hub's order id. */
export function readOrderStates(xml: string): Array<{ orderId: string; state?: string }> {
  return readB2mml(xml)
    .envelopes.filter((envelope) => envelope.type === 'ProductionOrder')
    .map((envelope) => {
      const { id, state } = envelope.document as { id: string; state?: string };
      return state === undefined ? { orderId: id } : { orderId: id, state };
    });
}
