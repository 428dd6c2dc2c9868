/** HTTP API error codes: stable, each with its status; answered as {error: {code, message, details}}. */
import type { Response } from 'express';

export const API_ERRORS = {
  AUTH_REQUIRED: { status: 401, message: 'A bearer token or a console session is required' },
  AUTH_INVALID: { status: 401, message: 'The bearer token is not valid' },
  FORBIDDEN_SYSTEM: { status: 403, message: 'This token may not act for that system' },
  FORBIDDEN_ROLE: { status: 403, message: 'Your role may not do this' },
  CSRF_INVALID: {
    status: 403,
    message: 'A state-changing request of a console session needs its CSRF token in X-CSRF-Token',
  },
  LOGIN_FAILED: { status: 401, message: 'Wrong user or password' },
  LOGIN_RATE_LIMITED: { status: 429, message: 'Too many failed logins; wait and try again' },
  USER_EXISTS: { status: 409, message: 'A user of that name exists already' },
  DEAD_LETTER_CLOSED: {
    status: 409,
    message: 'The dead letter is not open: replayed, superseded or discarded already',
  },
  UNKNOWN_SYSTEM: { status: 404, message: 'No such system is configured' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send application/json or application/xml' },
  BODY_TOO_LARGE: { status: 413, message: 'The body is larger than the limit' },
  JSON_MALFORMED: { status: 400, message: 'The body is not valid JSON' },
  JSON_TOO_DEEP: { status: 400, message: 'The JSON nests deeper than the depth limit' },
  BODY_NOT_UTF8: { status: 400, message: 'The body is not valid UTF-8' },
  BAD_REQUEST: { status: 400, message: 'The request is not valid' },
  QUEUE_UNAVAILABLE: {
    status: 503,
    message:
      'The hub’s queue (Redis) is unreachable; the message may not have been accepted, retry with the same Idempotency-Key',
  },
  UNAVAILABLE: { status: 503, message: 'The hub cannot queue the message right now; retry later' },
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** Seconds a client is asked to wait (Retry-After) after a 503: long enough for Redis to be restarted. */
export const RETRY_AFTER_SECONDS = 2;

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

/** The JSON body of an error answer: {error: {code, message, details}}. */
export function errorBody(error: ApiError): { error: { code: string; message: string; details?: unknown } } {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

export function sendError(res: Response, error: ApiError): void {
  if (error.status === 503) res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
  res.status(error.status).json(errorBody(error));
}
