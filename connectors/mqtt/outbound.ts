/**
 * Outbound documents → MQTT publishes: the topic comes from a template filled from the document's
 * envelope, and a send resolves only once the broker acknowledged it (PUBACK for QoS 1).
 */
import type { MqttClient } from 'mqtt';
import type { OutboundDocument, SendResult } from '../types';
import type { ResolvedConfig } from './config';
import { MqttError } from './errors';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN = new Set(['type', 'objectKey', 'idempotencyKey']);

/** Throws MQTT_TOPIC_TEMPLATE_INVALID unless the template only uses {type}, {objectKey}, {idempotencyKey}. */
export function checkTopicTemplate(template: string): void {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!KNOWN.has(name ?? '')) throw new MqttError('MQTT_TOPIC_TEMPLATE_INVALID', `unknown placeholder {${name}}`);
  }
  if (/[+#]/.test(template.replace(PLACEHOLDER, ''))) {
    throw new MqttError('MQTT_TOPIC_TEMPLATE_INVALID', 'a topic name cannot contain + or #');
  }
}

/** A value made safe for one topic level: `/ + # %` and NUL are percent-encoded. */
function topicLevel(value: string): string {
  return value.replace(/[/+#%\0]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The values a document offers the template: the JSON envelope's `type`/`objectKey` where present. */
function fields(document: OutboundDocument): Record<string, string> {
  let type = document.type;
  let objectKey = document.idempotencyKey;
  if (document.contentType === 'application/json') {
    try {
      const envelope: unknown = JSON.parse(document.body);
      if (typeof envelope === 'object' && envelope !== null) {
        const { type: envelopeType, objectKey: envelopeKey } = envelope as Record<string, unknown>;
        if (typeof envelopeType === 'string' && envelopeType !== '') type = envelopeType;
        if (typeof envelopeKey === 'string' && envelopeKey !== '') objectKey = envelopeKey;
      }
    } catch {
      // Not JSON after all: the document's type and idempotency key still name it.
    }
  }
  return { type, objectKey, idempotencyKey: document.idempotencyKey };
}

/**
 * The topic a document is published on.
 * @example renderTopic('handover/{type}/{objectKey}', jsonOrder) // 'handover/ProductionOrder/PO-1000123'
 */
export function renderTopic(template: string, document: OutboundDocument): string {
  const values = fields(document);
  return template.replace(PLACEHOLDER, (_, name: string) => topicLevel(values[name] ?? ''));
}

/**
 * Publishes one document and resolves once the broker acknowledged it (PUBACK for QoS 1, PUBCOMP
 * for QoS 2, once written for QoS 0), with the topic as the audit detail. Refuses at once when not
 * connected (the hub retries with backoff) rather than queueing inside the client, where an
 * aborted send would still go out later.
 */
export function publishDocument(
  client: MqttClient | undefined,
  settings: ResolvedConfig['publish'],
  document: OutboundDocument,
  signal: AbortSignal,
): Promise<SendResult> {
  if (!client?.connected) return Promise.reject(new MqttError('MQTT_NOT_CONNECTED'));
  if (signal.aborted) return Promise.reject(signal.reason);
  const topic = renderTopic(settings.topicTemplate, document);
  const mqtt5 = client.options.protocolVersion === 5;
  return new Promise<SendResult>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    client.publish(
      topic,
      document.body,
      {
        qos: settings.qos,
        retain: settings.retain,
        ...(mqtt5
          ? {
              properties: {
                userProperties: { 'idempotency-key': document.idempotencyKey },
                contentType: document.contentType,
              },
            }
          : {}),
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        if (!error) resolve({ detail: `published to ${topic} (QoS ${settings.qos})` });
        else if ('code' in error && typeof error.code === 'number' && error.code >= 0x80) {
          reject(new MqttError('MQTT_PUBLISH_REFUSED', `${error.message} (reason code ${error.code}, topic ${topic})`));
        } else reject(new MqttError('MQTT_PUBLISH_FAILED', `${error.message} (topic ${topic})`));
      },
    );
  });
}
