/** Error codes of the hub's queue backend (Redis). Stable: a retired code is never reused (see docs/errors.md). */

export const QUEUE_ERRORS = {
  REDIS_NOT_INSTALLED: { status: 503, message: 'No redis-server executable was found and REDIS_URL is not set' },
  REDIS_UNREACHABLE: { status: 503, message: 'The Redis at REDIS_URL does not answer PING' },
  REDIS_START_FAILED: { status: 503, message: 'The hub could not start or adopt its own redis-server' },
} as const;
export type QueueErrorCode = keyof typeof QUEUE_ERRORS;

/**
 * A queue backend failure with a stable code. The status is what the inbound API answers while the
 * queue is unavailable: a sender should retry later, since nothing was accepted.
 */
export class QueueError extends Error {
  readonly status: number;
  constructor(
    readonly code: QueueErrorCode,
    message: string = QUEUE_ERRORS[code].message,
  ) {
    super(`${code}: ${message}`);
    this.name = 'QueueError';
    this.status = QUEUE_ERRORS[code].status;
  }
}
