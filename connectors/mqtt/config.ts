/**
 * Configuration of the MQTT connector: its JSON Schema (TypeBox), the defaults it applies when the
 * hub has not, and the credentials it reads from the environment (never from the config file).
 */
import { Type, type Static } from '@sinclair/typebox';
import { MqttError } from './errors';
import { SignalBindings, type SignalBinding } from './signals';

/** Defaults, written once: the schema advertises them and {@link resolveConfig} applies them. */
export const DEFAULTS = {
  qos: 1,
  topicTemplate: 'handover/{type}/{objectKey}',
  retain: false,
  cleanSession: false,
  reconnectPeriodMs: 200,
  connectTimeoutMs: 10000,
  receiveWindow: 500,
  protocolVersion: 5,
  sessionExpirySec: 604800,
} as const;

const qos = (description: string) =>
  Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
    description,
    default: DEFAULTS.qos,
    examples: [1],
  });

const Subscription = Type.Object(
  {
    topic: Type.String({
      minLength: 1,
      description: 'MQTT topic filter (+ and # wildcards, $share/<group>/… allowed)',
      examples: ['plant1/line3/+/status', 'spBv1.0/#'],
    }),
    format: Type.Union([Type.Literal('json'), Type.Literal('sparkplug')], {
      description: 'json: payload passed on unchanged; sparkplug: Sparkplug B protobuf, decoded per metric',
      examples: ['json', 'sparkplug'],
    }),
    qos: Type.Optional(qos('Subscription QoS')),
  },
  { additionalProperties: false, description: 'One topic filter and how its payloads are read' },
);

/** JSON Schema of the connector's configuration. */
export const configSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^(mqtts?|tcp|ssl|wss?)://',
      description: 'Broker URL, without credentials',
      examples: ['mqtt://broker.plant1.local:1883', 'mqtts://broker.example.com:8883'],
    }),
    clientId: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'MQTT client id; the persistent session is kept under it, so it must be stable and unique',
      examples: ['handover-plant1'],
    }),
    system: Type.String({
      minLength: 1,
      description: 'Handover system id that inbound payloads are attributed to',
      examples: ['scada'],
    }),
    usernameEnv: Type.Optional(
      Type.String({ description: 'Name of the environment variable holding the username', examples: ['MQTT_USER'] }),
    ),
    passwordEnv: Type.Optional(
      Type.String({ description: 'Name of the environment variable holding the password', examples: ['MQTT_PASS'] }),
    ),
    subscriptions: Type.Optional(
      Type.Array(Subscription, {
        default: [],
        description: 'Topic filters to receive; the first filter a topic matches decides its format',
        examples: [[{ topic: 'spBv1.0/#', format: 'sparkplug', qos: 1 }]],
      }),
    ),
    signals: Type.Optional(SignalBindings),
    sparkplug: Type.Optional(
      Type.Object(
        {
          hostId: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'Primary host application id: publishes retained STATE on spBv1.0/STATE/<hostId>',
              examples: ['handover'],
            }),
          ),
          groupIds: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description: 'Only these Sparkplug groups are processed (all when absent)',
              examples: [['Plant1']],
            }),
          ),
        },
        { additionalProperties: false, description: 'Sparkplug B host settings', default: {}, examples: [{}] },
      ),
    ),
    publish: Type.Optional(
      Type.Object(
        {
          topicTemplate: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'Topic for outbound documents: {type}, {objectKey}, {idempotencyKey}',
              default: DEFAULTS.topicTemplate,
              examples: ['handover/{type}/{objectKey}'],
            }),
          ),
          qos: Type.Optional(qos('Publish QoS: 1 resolves a send on PUBACK')),
          retain: Type.Optional(
            Type.Boolean({ description: 'Publish retained', default: DEFAULTS.retain, examples: [false] }),
          ),
        },
        { additionalProperties: false, description: 'Outbound publishing (the connector can send)', examples: [{}] },
      ),
    ),
    cleanSession: Type.Optional(
      Type.Boolean({
        description: 'false keeps a persistent session: QoS 1 messages wait at the broker while disconnected',
        default: DEFAULTS.cleanSession,
        examples: [false],
      }),
    ),
    sessionExpirySec: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4294967295,
        description: 'MQTT 5 session expiry after a disconnect (4294967295 = never)',
        default: DEFAULTS.sessionExpirySec,
        examples: [604800],
      }),
    ),
    protocolVersion: Type.Optional(
      Type.Union([Type.Literal(4), Type.Literal(5)], {
        description: 'MQTT 5, or 4 (3.1.1); a broker that refuses 5 is retried with 4',
        default: DEFAULTS.protocolVersion,
        examples: [5],
      }),
    ),
    reconnectPeriodMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        description:
          'Wait between reconnect attempts; short, because a broker drops what passes its queue limit while the connector is away',
        default: DEFAULTS.reconnectPeriodMs,
        examples: [200],
      }),
    ),
    receiveWindow: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description:
          'Received messages on their way into the hub at once (each acknowledged once queued, in order); ' +
          'over MQTT 5 also the Receive Maximum the broker is given. 1 takes one message at a time',
        default: DEFAULTS.receiveWindow,
        examples: [500],
      }),
    ),
    connectTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        description: 'Time allowed for a CONNACK',
        default: DEFAULTS.connectTimeoutMs,
        examples: [10000],
      }),
    ),
  },
  { additionalProperties: false, description: 'MQTT broker connection, subscriptions and publishing' },
);

/** The configuration as validated by the hub. */
export type MqttConfig = Static<typeof configSchema>;

/** The configuration with every default applied. */
export interface ResolvedConfig {
  url: string;
  clientId: string;
  system: string;
  subscriptions: { topic: string; format: 'json' | 'sparkplug'; qos: 0 | 1 | 2 }[];
  signals: SignalBinding[];
  hostId?: string;
  groupIds?: string[];
  publish: { topicTemplate: string; qos: 0 | 1 | 2; retain: boolean };
  cleanSession: boolean;
  sessionExpirySec: number;
  protocolVersion: 4 | 5;
  reconnectPeriodMs: number;
  connectTimeoutMs: number;
  receiveWindow: number;
  usernameEnv?: string;
  passwordEnv?: string;
}

/** Applies the defaults, so the connector behaves the same whether or not the hub filled them in. */
export function resolveConfig(config: MqttConfig): ResolvedConfig {
  return {
    url: config.url,
    clientId: config.clientId,
    system: config.system,
    subscriptions: (config.subscriptions ?? []).map((s) => ({
      topic: s.topic,
      format: s.format,
      qos: s.qos ?? DEFAULTS.qos,
    })),
    signals: config.signals ?? [],
    ...(config.sparkplug?.hostId ? { hostId: config.sparkplug.hostId } : {}),
    ...(config.sparkplug?.groupIds ? { groupIds: config.sparkplug.groupIds } : {}),
    publish: {
      topicTemplate: config.publish?.topicTemplate ?? DEFAULTS.topicTemplate,
      qos: config.publish?.qos ?? DEFAULTS.qos,
      retain: config.publish?.retain ?? DEFAULTS.retain,
    },
    cleanSession: config.cleanSession ?? DEFAULTS.cleanSession,
    sessionExpirySec: config.sessionExpirySec ?? DEFAULTS.sessionExpirySec,
    protocolVersion: config.protocolVersion ?? DEFAULTS.protocolVersion,
    reconnectPeriodMs: config.reconnectPeriodMs ?? DEFAULTS.reconnectPeriodMs,
    connectTimeoutMs: config.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    receiveWindow: config.receiveWindow ?? DEFAULTS.receiveWindow,
    ...(config.usernameEnv ? { usernameEnv: config.usernameEnv } : {}),
    ...(config.passwordEnv ? { passwordEnv: config.passwordEnv } : {}),
  };
}

/** Reads the username and password from the variables the config names; a named but unset variable is an error. */
export function readCredentials(
  config: Pick<ResolvedConfig, 'usernameEnv' | 'passwordEnv'>,
  env: NodeJS.ProcessEnv = process.env,
): { username?: string; password?: string } {
  const read = (name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    const value = env[name];
    if (value === undefined) throw new MqttError('MQTT_CREDENTIAL_MISSING', `environment variable ${name} is not set`);
    return value;
  };
  const username = read(config.usernameEnv);
  const password = read(config.passwordEnv);
  return { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}
