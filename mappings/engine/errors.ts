/** Error codes of the mapping engine. Stable: a retired code is never reused (see docs/errors.md). */

export const MAPPING_ERRORS = {
  MAPPING_INVALID: 'A mapping file breaks the mapping schema or an expression does not compile',
  MAPPING_FAILED: 'An expression failed while it ran on a payload',
  MAPPING_OUTPUT_INVALID: 'A mapped document breaks its canonical schema, or its key, time or version is not valid',
  MAPPING_TIMEOUT: 'An expression ran past its time limit',
} as const;
export type MappingErrorCode = keyof typeof MAPPING_ERRORS;
