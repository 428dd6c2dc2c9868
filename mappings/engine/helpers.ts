/**
 * Functions every mapping can call, each with examples; one test runs every example, so the docs
 * and the behaviour cannot drift apart.
 */

export interface MappingHelper {
  /** JSONata signature: https://docs.jsonata.org/embedding-extending#function-signature-syntax */
  signature: string;
  description: string;
  examples: Array<{ call: string; result: unknown }>;
  implementation: (...args: never[]) => unknown;
}

/** SAP's ALPHA conversion output: leading zeros of a numeric key removed ("000001000123" → "1000123"). */
function sapNumber(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d+$/.test(trimmed) ? trimmed.replace(/^0+(?=\d)/, '') : trimmed;
}

/** SAP's ALPHA conversion input: a numeric key padded with zeros to `length` ("1000123", 12 → "000001000123"). */
function sapPad(value: string | undefined, length: number): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d+$/.test(trimmed) ? trimmed.padStart(length, '0') : trimmed;
}

/** An SAP date (YYYYMMDD) and optional time (HHMMSS) as an RFC 3339 date-time in a zone offset (default UTC). */
function sapDateTime(date: string | undefined, time?: string, offset = 'Z'): string | undefined {
  if (!date || /^0+$/.test(date.trim())) return undefined;
  const d = date.trim();
  const t = (time ?? '000000').trim().padEnd(6, '0');
  if (!/^\d{8}$/.test(d) || !/^\d{6}$/.test(t))
    throw new Error(`"${date}" "${time ?? ''}" is not an SAP date and time`);
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}${offset}`;
}

/** A decimal kept exactly as written, trimmed; SAP's trailing minus sign ("12.5-") moved to the front. */
function decimal(value: string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number')
    throw new Error(`${value} is a JSON number; map quantities from strings to keep them exact`);
  const trimmed = value.trim();
  const text = trimmed.endsWith('-') ? `-${trimmed.slice(0, -1)}` : trimmed;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new Error(`"${value}" is not a decimal`);
  return text;
}

export const helpers: Record<string, MappingHelper> = {
  sapNumber: {
    signature: '<s-:s>',
    description:
      'Removes the leading zeros SAP stores in numeric keys (ALPHA conversion output); other keys unchanged.',
    examples: [
      { call: '$sapNumber("000001000123")', result: '1000123' },
      { call: '$sapNumber("0000")', result: '0' },
      { call: '$sapNumber("PO-0012")', result: 'PO-0012' },
    ],
    implementation: sapNumber as (...args: never[]) => unknown,
  },
  sapPad: {
    signature: '<s-n:s>',
    description: 'Pads a numeric key with leading zeros to SAP field length (ALPHA conversion input).',
    examples: [
      { call: '$sapPad("1000123", 12)', result: '000001000123' },
      { call: '$sapPad("RM-100", 18)', result: 'RM-100' },
    ],
    implementation: sapPad as (...args: never[]) => unknown,
  },
  sapDateTime: {
    signature: '<s-s?s?:s>',
    description:
      'SAP date YYYYMMDD and time HHMMSS to an RFC 3339 date-time (zone offset, default Z). 00000000 is no date.',
    examples: [
      { call: '$sapDateTime("20240502", "060000")', result: '2024-05-02T06:00:00Z' },
      { call: '$sapDateTime("20240502", "060000", "+02:00")', result: '2024-05-02T06:00:00+02:00' },
      { call: '$sapDateTime("20240502")', result: '2024-05-02T00:00:00Z' },
    ],
    implementation: sapDateTime as (...args: never[]) => unknown,
  },
  decimal: {
    signature: '<(sn)-:s>',
    description:
      'An exact decimal string for a canonical quantity: trims, moves SAP’s trailing minus to the front, refuses JSON numbers.',
    examples: [
      { call: '$decimal("  12.375")', result: '12.375' },
      { call: '$decimal("12.500-")', result: '-12.500' },
    ],
    implementation: decimal as (...args: never[]) => unknown,
  },
};
