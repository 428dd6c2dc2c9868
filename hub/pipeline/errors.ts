/**
 * Codes the pipeline files dead letters under. Stable: a retired code is never reused (see
 * docs/errors.md). Ingest codes also include every B2MML codec code.
 */
export const PIPELINE_ERRORS = {
  CANONICAL_INVALID: 'A JSON payload is not valid JSON or breaks its canonical schema',
  SOURCE_SYSTEM_MISMATCH: 'An envelope names a source system other than the authenticated one',
  ATTEMPTS_EXHAUSTED: 'A delivery failed on every attempt its route allows',
  TARGET_REFUSED: 'The target answered a 4xx that retrying cannot fix',
  ROUTE_REMOVED: 'The route of a pending delivery is no longer configured',
  NO_ROUTE_TO_OWNER: 'A change request (propose policy) has no route to the owner',
  PAYLOAD_MALFORMED: 'A payload for a system with mappings is not the JSON or XML its content type says',
  PROCESSING_FAILED: 'A job failed with an unexpected error on its last attempt',
  SIGNAL_INVALID: 'A signal message for the context engine lacks its equipment, signal or a valid source timestamp',
} as const;
export type PipelineErrorCode = keyof typeof PIPELINE_ERRORS;

/** Codes the replay endpoints answer with, and their HTTP status. */
export const REPLAY_ERRORS = {
  REPLAY_WOULD_ROLL_BACK: {
    status: 409,
    message: 'The target already received a newer revision of this object; replaying would roll it back',
  },
  REPLAY_MAPPING_UNKNOWN: {
    status: 409,
    message:
      'The mapping version that first translated this message is not kept in the store; replay with the current mapping',
  },
} as const;
export type ReplayErrorCode = keyof typeof REPLAY_ERRORS;
