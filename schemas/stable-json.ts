/** Deterministic JSON (object keys sorted) and content hashes of canonical documents. */
import { createHash } from 'node:crypto';

/**
 * JSON text that is the same for equal values whatever their key order.
 * @example stableJson({ b: 1, a: [2] }) // '{"a":[2],"b":1}'
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : stableJson(item))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of a document's stable JSON: equal content, equal hash. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}
