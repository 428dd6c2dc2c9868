/** Error codes of the OPC UA connector. Stable: a retired code is never reused. */

export const OPCUA_ERRORS = {
  OPCUA_WRITE_NOT_ALLOWED: { transient: false, message: 'The signal is not listed under writes' },
  OPCUA_VALUE_INVALID: { transient: false, message: "The value does not fit the variable's data type" },
  OPCUA_NOT_CONNECTED: { transient: true, message: 'There is no session with the OPC UA server at the moment' },
  OPCUA_WRITE_REJECTED: { transient: true, message: 'The OPC UA server refused the write or did not answer it' },
} as const;
export type OpcuaErrorCode = keyof typeof OPCUA_ERRORS;

/**
 * A connector failure with a stable code. `transient` says whether trying again later can succeed
 * (no session, server busy) or not (a signal that may not be written, a value of the wrong type).
 */
export class OpcuaError extends Error {
  readonly transient: boolean;
  constructor(
    readonly code: OpcuaErrorCode,
    detail?: string,
    transient: boolean = OPCUA_ERRORS[code].transient,
  ) {
    super(`${code}: ${OPCUA_ERRORS[code].message}${detail ? ` (${detail})` : ''}`);
    this.name = 'OpcuaError';
    this.transient = transient;
  }
}
