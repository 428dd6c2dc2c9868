/** Error codes of the MQTT connector. Stable: a retired code is never reused (see docs/errors.md). */

/** Every code with whether retrying can help and its default message. */
export const MQTT_ERRORS = {
  MQTT_CREDENTIAL_MISSING: {
    retryable: false,
    message: 'An environment variable named by usernameEnv or passwordEnv is not set',
  },
  MQTT_TOPIC_TEMPLATE_INVALID: {
    retryable: false,
    message: 'publish.topicTemplate uses a placeholder other than {type}, {objectKey} or {idempotencyKey}',
  },
  MQTT_TOPIC_FILTER_INVALID: {
    retryable: false,
    message: 'A subscription topic is not a valid MQTT topic filter',
  },
  MQTT_NOT_CONNECTED: { retryable: true, message: 'The connector is not connected to the broker' },
  MQTT_PUBLISH_FAILED: { retryable: true, message: 'The client failed the publish before the broker acknowledged it' },
  MQTT_PUBLISH_REFUSED: { retryable: false, message: 'The broker refused the publish (MQTT 5 reason code)' },
} as const;
/** One of the connector's stable error codes. */
export type MqttErrorCode = keyof typeof MQTT_ERRORS;

/**
 * An MQTT connector failure with a stable code. `retryable` says whether sending the same document
 * again can succeed (the hub retries every thrown send; the flag is for logs and dead-letter reasons).
 */
export class MqttError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: MqttErrorCode,
    message: string = MQTT_ERRORS[code].message,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MqttError';
    this.retryable = MQTT_ERRORS[code].retryable;
  }
}
