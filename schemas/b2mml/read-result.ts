/** What a noun reader returns: canonical documents with where they came from. */
import type { CanonicalType, DocumentOf } from '../index';

/** One canonical document read from a B2MML element. */
export interface ReadDocument<T extends CanonicalType = CanonicalType> {
  type: T;
  document: DocumentOf[T];
  /** Path of the element the document came from, for error messages. */
  path: string;
  /** When the fact happened, when the element says so. */
  occurredAt?: string;
  /** Version element, when it holds an integer. */
  version?: number;
}

/** Builds a {@link ReadDocument} keeping the document type and its payload in step. */
export function readDocument<T extends CanonicalType>(
  type: T,
  document: DocumentOf[T],
  path: string,
  extra: { occurredAt?: string; version?: number } = {},
): ReadDocument<T> {
  const result: ReadDocument<T> = { type, document, path };
  if (extra.occurredAt !== undefined) result.occurredAt = extra.occurredAt;
  if (extra.version !== undefined) result.version = extra.version;
  return result;
}
