/**
 * Reading canonical JSON: a single envelope, an array of envelopes, or a bare document
 * whose type the caller names. Every failure is a located problem.
 */
import { randomUUID } from 'node:crypto';
import { isCanonicalType, type CanonicalEnvelope, type CanonicalType } from './index';
import type { Problem } from './problem';
import { validateDocument, validateEnvelope } from './validate';

export type JsonReadResult = { envelopes: CanonicalEnvelope[]; problems: Problem[] };

/**
 * Parses and validates canonical JSON text.
 * @example readCanonicalJson('{"id":"PO-1",…}', { type: 'ProductionOrder', sourceSystem: 'erp' })
 */
export function readCanonicalJson(
  text: string,
  options: { type?: string; sourceSystem?: string } = {},
): JsonReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { envelopes: [], problems: [{ path: '/', reason: `not valid JSON: ${(error as Error).message}` }] };
  }
  if (options.type !== undefined && !isCanonicalType(options.type)) {
    return { envelopes: [], problems: [{ path: '/', reason: `--type "${options.type}" is not a canonical type` }] };
  }
  const items = Array.isArray(value) ? value : [value];
  const problems: Problem[] = [];
  const envelopes: CanonicalEnvelope[] = [];
  items.forEach((item, index) => {
    const path = Array.isArray(value) ? `/${index}` : '';
    const type = options.type as CanonicalType | undefined;
    const isEnvelope = typeof item === 'object' && item !== null && 'document' in item && 'type' in item;
    if (isEnvelope) {
      const found = validateEnvelope(item, path);
      problems.push(...found);
      if (found.length === 0) envelopes.push(item as CanonicalEnvelope);
    } else if (type) {
      const found = validateDocument(type, item, path);
      problems.push(...found);
      if (found.length === 0) envelopes.push(wrap(type, item as { id: string }, options.sourceSystem));
    } else {
      problems.push({
        path: path || '/',
        reason: 'a bare document needs --type (or wrap it in an envelope with "type")',
      });
    }
  });
  return { envelopes, problems };
}

/** Wraps a bare canonical document in a fresh envelope. */
export function wrap(type: CanonicalType, document: { id: string }, sourceSystem = 'unknown'): CanonicalEnvelope {
  const now = new Date().toISOString();
  return {
    messageId: randomUUID(),
    type,
    objectKey: document.id,
    sourceSystem,
    occurredAt: now,
    receivedAt: now,
    document,
  } as CanonicalEnvelope;
}
