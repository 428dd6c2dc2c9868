/**
 * What the engine says of a signal it does not book. Stable: a retired code is never reused (see
 * docs/errors.md). None stops the engine; each is logged, counted and kept in the audit log.
 */
export const CONTEXT_ERRORS = {
  SIGNAL_LATE: 'The signal is older than the state already held for its equipment: recorded, not booked',
  SIGNAL_UNKNOWN_EQUIPMENT: 'The signal names equipment the context configuration does not have',
  SIGNAL_UNKNOWN: 'The signal is not one of its work unit’s configured signals',
  SIGNAL_BAD_QUALITY: 'The signal’s quality is not good: its value is not booked',
  STATE_UNMAPPED: 'A state or mode code is not in the work unit’s state map: booked as Unknown (a stop)',
  REASON_UNKNOWN: 'A stop reason code is not in the reason catalogue: kept as the code, classed as availability loss',
  COUNTER_RESET: 'A counter dropped and has no rollover: a reset, no quantity booked, the new value is the baseline',
  COUNTER_IMPLAUSIBLE: 'A counter rose faster than its maxPerSecond: not booked as production',
  COUNTER_NOT_NUMBER: 'A counter value is not a non-negative number',
} as const;
export type ContextErrorCode = keyof typeof CONTEXT_ERRORS;
