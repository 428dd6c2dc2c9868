/**
 * The simulated ERP's production orders as it plans them: each version of an order (its quantity,
 * bill of materials, dates and when it was created), and the SAP conventions it writes them in
 * (12-digit order numbers, YYYYMMDD/HHMMSS dates, quantities kept exact in thousandths).
 */
import { BOM, LINE, PRODUCT, type PlannedOrder } from './scenario';

/** One version of an order as ERP created it; its IDoc or B2MML is written from this and kept as sent. */
export interface OrderVersion {
  /** SAP's order number (AUFNR), 12 digits. */
  orderId: string;
  format: PlannedOrder['format'];
  /** ERP's own numbering of the order's versions: 1, 2, … */
  version: number;
  /** Cases of the finished good. */
  quantity: number;
  /** Planned start and finish, plant time (epoch ms). */
  start: number;
  due: number;
  /** When ERP created this version, plant time (epoch ms): the IDoc's CREDAT/CRETIM, the BOD's CreationDateTime. */
  createdAt: number;
}

/** The plant (WERKS) ERP plans the line in; the LOIPRO01 mapping makes it the order's hierarchy scope. */
export const PLANT = LINE;
/** The line's work centre (ARBPL) and routing (PLNNR) of the one operation, fill-cap-label-pack. */
export const WORK_CENTER = LINE;
export const ROUTING = '50000500';
export const OPERATION = '0010';
export const OPERATION_TEXT = 'Fill, cap, label and pack';
export const PROCESS_SEGMENT = 'FILL-CAP-LABEL-PACK';

/** A component line of an order version: the BOM's quantity per case times the order's cases. */
export interface ComponentLine {
  position: string;
  material: string;
  quantity: number;
  unit: string;
  lot: string;
}

export function componentsOf(order: OrderVersion): ComponentLine[] {
  return BOM.map((line, index) => ({
    position: String(index + 1).padStart(4, '0'),
    material: line.material,
    quantity: line.perCase * order.quantity,
    unit: line.unit,
    lot: line.lot,
  }));
}

/** The finished good an order produces. */
export const produced = { material: PRODUCT.id, unit: PRODUCT.unit, description: PRODUCT.description };

/** The IDoc number of an order version: the same for every transmission of that version. */
export function docnumOf(order: OrderVersion): string {
  return `9${order.orderId.slice(-7)}${String(order.version).padStart(3, '0')}`.padStart(16, '0');
}

/**
 * SAP's ALPHA input: a numeric key padded to its field length (the hub's canonical ids drop the zeros).
 * @example sapPad('4711001', 12) // '000004711001'
 */
export function sapPad(value: string, length: number): string {
  return /^\d+$/.test(value) ? value.padStart(length, '0') : value;
}

/**
 * SAP's ALPHA output: a numeric key without its leading zeros, as the hub's mappings write ids.
 * @example sapNumber('000004711001') // '4711001'
 */
export function sapNumber(value: string): string {
  return /^\d+$/.test(value) ? value.replace(/^0+(?=\d)/, '') : value;
}

/** SAP date and time (UTC) of an instant: `['20261201', '060000']`. */
export function sapDateTime(ms: number): [string, string] {
  const iso = new Date(ms).toISOString();
  return [iso.slice(0, 10).replace(/-/g, ''), iso.slice(11, 19).replace(/:/g, '')];
}

/** An ISO date-time of plant time, to the second, with Z. */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/**
 * A decimal quantity in thousandths (SAP keeps 3 decimals), exactly: never through a binary float.
 * @example toMilli('12.375') // 12375
 */
export function toMilli(value: string): number {
  const match = /^(-?)(\d+)(?:\.(\d{0,3})0*)?$/.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a quantity with at most 3 decimals`);
  const milli = Number(match[2]) * 1000 + Number((match[3] ?? '').padEnd(3, '0'));
  return match[1] === '-' ? -milli : milli;
}

/**
 * Thousandths back to a decimal string, without trailing zeros.
 * @example fromMilli(12375) // '12.375'
 */
export function fromMilli(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  const fraction = String(abs % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${sign}${Math.floor(abs / 1000)}${fraction ? `.${fraction}` : ''}`;
}

/** Escapes text for an XML element. */
export function xmlText(value: string | number): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
