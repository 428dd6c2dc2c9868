/** Deterministic JSON (object keys sorted) and content hashes of canonical documents. */
import { createHash } from 'node:crypto';

/**
 * JSON text that is the same for equal values whatever their key order.
 * @example stableJson({ b: 1, a: [2] }) // '{"a":[2],"b":1}'
 */
export function stableJson(value: unknown): string {
  // The native serializer with each object's keys put in order: several times faster than building
  // the text by hand, and the same text (audit hashes written before still verify). An object with
  // an integer-like key cannot be rebuilt in order (JavaScript enumerates those first), so a value
  // holding one is written by hand.
  try {
    return JSON.stringify(value, sortKeys) as string;
  } catch (error) {
    if (error !== INTEGER_KEY) throw error;
    return byHand(value);
  }
}

const INTEGER_KEY = Symbol('integer-like key');

function sortKeys(_key: string, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  let inOrder = true;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && /^(?:0|[1-9]\d*)$/.test(key)) throw INTEGER_KEY;
    if (index > 0 && keys[index - 1]! > key) inOrder = false;
  }
  // Keys already in order (most of the engine's provenance, for one) are written as they are.
  if (inOrder) return value;
  keys.sort();
  const sorted: Record<string, unknown> = {};
  for (const key of keys) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

function byHand(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : byHand(item))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${byHand(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of a document's stable JSON: equal content, equal hash. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}
