/**
 * The `mqtt` connector: receives JSON and Sparkplug B messages from an MQTT broker and publishes
 * outbound documents to it, over a persistent QoS 1 session.
 */
import { defineConnector } from '../types';
import { configSchema, resolveConfig } from './config';
import { MqttSession } from './session';
import { bindingProblems } from './signals';

/**
 * The MQTT connector definition (register it in `connectors/index.ts`).
 * @example
 * const connector = mqttConnector.create(
 *   { url: 'mqtt://broker:1883', clientId: 'handover-plant1', system: 'scada',
 *     subscriptions: [{ topic: 'spBv1.0/#', format: 'sparkplug' }] },
 *   context,
 * );
 * await connector.start();
 */
export const mqttConnector = defineConnector({
  kind: 'mqtt',
  description:
    'MQTT broker: JSON payloads and Sparkplug B metrics in (persistent session, QoS 1, ' +
    'acknowledged once queued), documents out on a topic template (resolves on PUBACK)',
  configSchema,
  problems: (config) => bindingProblems(config.signals ?? []),
  create: (config, context) => new MqttSession(resolveConfig(config), context),
});

export { configSchema, type MqttConfig } from './config';
export { MqttError, MQTT_ERRORS, type MqttErrorCode } from './errors';
export { MqttSession } from './session';
