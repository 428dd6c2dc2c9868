/** Error codes of the OPC UA connector. Stable: a retired code is never reused. */
import type { SendFailure } from '../types';

export const OPCUA_ERRORS = {
  OPCUA_WRITE_NOT_ALLOWED: { permanent: true, message: 'The signal is not listed under writes' },
  OPCUA_VALUE_INVALID: { permanent: true, message: "The value does not fit the variable's data type" },
  OPCUA_NOT_CONNECTED: { permanent: false, message: 'There is no session with the OPC UA server at the moment' },
  OPCUA_WRITE_REJECTED: { permanent: false, message: 'The OPC UA server refused the write or did not answer it' },
} as const;
export type OpcuaErrorCode = keyof typeof OPCUA_ERRORS;

/**
 * A connector failure with a stable code. `permanent` (see connectors/types.ts) says trying again
 * cannot succeed (a signal that may not be written, a value of the wrong type), as opposed to no
 * session or a busy server.
 */
export class OpcuaError extends Error implements SendFailure {
  readonly permanent: boolean;
  constructor(
    readonly code: OpcuaErrorCode,
    detail?: string,
    permanent: boolean = OPCUA_ERRORS[code].permanent,
  ) {
    super(`${code}: ${OPCUA_ERRORS[code].message}${detail ? ` (${detail})` : ''}`);
    this.name = 'OpcuaError';
    this.permanent = permanent;
  }
}
