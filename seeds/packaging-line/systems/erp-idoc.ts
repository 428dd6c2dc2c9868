/**
 * The IDocs the simulated ERP exchanges: the LOIPRO01 production order it sends (the shape the
 * hub's erp-loipro01-production-order mapping reads), and the WMMBXY goods movements (WMMBID02) the
 * hub's erp-wmmbxy-goods-movement mapping sends it: 101 goods receipts and 261 goods issues.
 */
import { parseXml } from '../../../schemas/b2mml/index';
import type { XmlElement } from '../../../schemas/b2mml/xml-parse';
import {
  OPERATION,
  OPERATION_TEXT,
  PLANT,
  PROCESS_SEGMENT,
  ROUTING,
  WORK_CENTER,
  componentsOf,
  docnumOf,
  produced,
  sapDateTime,
  xmlText,
  type OrderVersion,
} from './erp-orders';

/**
 * The LOIPRO01 IDoc of an order version. Its creation date and time (CREDAT/CRETIM) are when ERP
 * created the version: the mapping takes them as the document's occurredAt, which is what the hub
 * orders ERP's versions by (the mapping gives no objectVersion).
 */
export function loiproIdoc(order: OrderVersion): string {
  const [credat, cretim] = sapDateTime(order.createdAt);
  const [gstrs, gsuzs] = sapDateTime(order.start);
  const [gltrs, gluzs] = sapDateTime(order.due);
  const field = (name: string, value: string | number) => `<${name}>${xmlText(value)}</${name}>`;
  const components = componentsOf(order).map(
    (line) =>
      `      <E1RESBL SEGMENT="1">${[
        field('RSPOS', line.position),
        field('VORNR', OPERATION),
        field('MATNR', line.material),
        field('BDMNG', line.quantity),
        field('MEINS', line.unit),
        field('CHARG', line.lot),
      ].join('')}</E1RESBL>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<LOIPRO01>',
    '  <IDOC BEGIN="1">',
    `    <EDI_DC40 SEGMENT="1">${[
      field('TABNAM', 'EDI_DC40'),
      field('DOCNUM', docnumOf(order)),
      field('MESTYP', 'LOIPRO'),
      field('IDOCTYP', 'LOIPRO01'),
      field('SNDPRN', 'S4HCLNT100'),
      field('CREDAT', credat),
      field('CRETIM', cretim),
    ].join('')}</EDI_DC40>`,
    '    <E1AFKOL SEGMENT="1">',
    `      ${[
      field('AUFNR', order.orderId),
      field('AUART', 'PP01'),
      field('WERKS', PLANT),
      field('KTEXT', produced.description),
      field('MATNR', produced.material),
      field('GAMNG', order.quantity),
      field('GMEIN', produced.unit),
      field('STATUS', 'REL'),
      field('GSTRS', gstrs),
      field('GSUZS', gsuzs),
      field('GLTRS', gltrs),
      field('GLUZS', gluzs),
      field('PLNNR', ROUTING),
    ].join('')}`,
    `      <E1AFPOL SEGMENT="1">${[
      field('POSNR', '0001'),
      field('MATNR', produced.material),
      field('PSMNG', order.quantity),
      field('MEINS', produced.unit),
    ].join('')}</E1AFPOL>`,
    ...components,
    '      <E1AFFLL SEGMENT="1">',
    `        <E1AFVOL SEGMENT="1">${[
      field('VORNR', OPERATION),
      field('LTXA1', OPERATION_TEXT),
      field('KTSCH', PROCESS_SEGMENT),
      field('ARBPL', WORK_CENTER),
      field('WERKS', PLANT),
    ].join('')}</E1AFVOL>`,
    '      </E1AFFLL>',
    '    </E1AFKOL>',
    '  </IDOC>',
    '</LOIPRO01>',
    '',
  ].join('\n');
}

/** One item (E1MBXYI) of a goods movement IDoc. */
export interface GoodsMovementItem {
  /** Movement type: 101 goods receipt for the order, 261 goods issue to the order. */
  bwart: string;
  /** The order (AUFNR), 12 digits. */
  orderId: string;
  material: string;
  /** The batch (CHARG); empty when the item names none. */
  lot: string;
  /** ERFMG, as written. */
  quantity: string;
  unit: string;
  /** Scrap confirmed with a receipt (XMNGA), when the IDoc carries it. */
  scrap?: string;
}

/** Why a goods movement IDoc cannot be booked (answered 400/422: the hub dead-letters it). */
export class IdocError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 422,
  ) {
    super(message);
  }
}

/** The items of a WMMBID02 IDoc (root WMMBID02, IDOC, E1MBXYH, E1MBXYI…). */
export function readGoodsMovements(xml: string): { reference: string; items: GoodsMovementItem[] } {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    throw new IdocError(`not XML: ${(error as Error).message}`, 400);
  }
  if (root.name !== 'WMMBID02') throw new IdocError(`<${root.name}> is not a WMMBID02 IDoc`, 400);
  const child = (element: XmlElement | undefined, name: string) => element?.children.find((c) => c.name === name);
  const text = (element: XmlElement | undefined, name: string) => child(element, name)?.text.trim() ?? '';
  const idoc = child(root, 'IDOC');
  const header = child(idoc, 'E1MBXYH');
  if (!header) throw new IdocError('/WMMBID02/IDOC/E1MBXYH: required', 400);
  const items = header.children
    .filter((c) => c.name === 'E1MBXYI')
    .map((item, index) => {
      const path = `/WMMBID02/IDOC/E1MBXYH/E1MBXYI[${index}]`;
      const read: GoodsMovementItem = {
        bwart: text(item, 'BWART'),
        orderId: text(item, 'AUFNR'),
        material: text(item, 'MATNR').replace(/^0+(?=\d+$)/, ''),
        lot: text(item, 'CHARG'),
        quantity: text(item, 'ERFMG'),
        unit: text(item, 'ERFME'),
      };
      for (const name of ['bwart', 'orderId', 'material', 'quantity'] as const)
        if (!read[name]) throw new IdocError(`${path}: ${name} missing`, 400);
      const scrap = text(item, 'XMNGA');
      return scrap ? { ...read, scrap } : read;
    });
  if (items.length === 0) throw new IdocError('/WMMBID02/IDOC/E1MBXYH/E1MBXYI: at least one item', 400);
  return { reference: text(child(idoc, 'EDI_DC40'), 'REFINT'), items };
}
