/** Error codes of the MQTT connector. Stable: a retired code is never reused (see docs/errors.md). */
import type { SendFailure } from '../types';

/** Every code with whether it is permanent (retrying cannot help) and its default message. */
export const MQTT_ERRORS = {
  MQTT_CREDENTIAL_MISSING: {
    permanent: true,
    message: 'An environment variable named by usernameEnv or passwordEnv is not set',
  },
  MQTT_TOPIC_TEMPLATE_INVALID: {
    permanent: true,
    message: 'publish.topicTemplate uses a placeholder other than {type}, {objectKey} or {idempotencyKey}',
  },
  MQTT_TOPIC_FILTER_INVALID: {
    permanent: true,
    message: 'A subscription topic is not a valid MQTT topic filter',
  },
  MQTT_NOT_CONNECTED: { permanent: false, message: 'The connector is not connected to the broker' },
  MQTT_PUBLISH_FAILED: { permanent: false, message: 'The client failed the publish before the broker acknowledged it' },
  MQTT_PUBLISH_REFUSED: { permanent: true, message: 'The broker refused the publish (MQTT 5 reason code)' },
} as const;
/** One of the connector's stable error codes. */
export type MqttErrorCode = keyof typeof MQTT_ERRORS;

/**
 * An MQTT connector failure with a stable code. `permanent` (see connectors/types.ts) says sending
 * the same document again cannot succeed: the hub files it as TARGET_REFUSED instead of retrying.
 */
export class MqttError extends Error implements SendFailure {
  readonly permanent: boolean;
  constructor(
    readonly code: MqttErrorCode,
    message: string = MQTT_ERRORS[code].message,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MqttError';
    this.permanent = MQTT_ERRORS[code].permanent;
  }
}
