/** HTTP API error codes: stable, each with its status; answered as {error: {code, message, details}}. */
import type { Response } from 'express';

export const API_ERRORS = {
  AUTH_REQUIRED: { status: 401, message: 'A bearer token is required' },
  AUTH_INVALID: { status: 401, message: 'The bearer token is not valid' },
  FORBIDDEN_SYSTEM: { status: 403, message: 'This token may not act for that system' },
  FORBIDDEN_ADMIN: { status: 403, message: 'This needs the operator (admin) token' },
  UNKNOWN_SYSTEM: { status: 404, message: 'No such system is configured' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send application/json or application/xml' },
  BODY_TOO_LARGE: { status: 413, message: 'The body is larger than the limit' },
  JSON_MALFORMED: { status: 400, message: 'The body is not valid JSON' },
  BAD_REQUEST: { status: 400, message: 'The request is not valid' },
  UNAVAILABLE: { status: 503, message: 'The hub cannot queue the message right now; retry later' },
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error answered to the client; `details` says where and why. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    status: number,
    message: string,
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.status = status;
  }

  static of(code: ApiErrorCode, details?: unknown, message?: string): ApiError {
    return new ApiError(code, API_ERRORS[code].status, message ?? API_ERRORS[code].message, details);
  }
}

export function sendError(res: Response, error: ApiError): void {
  res.status(error.status).json({
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  });
}
