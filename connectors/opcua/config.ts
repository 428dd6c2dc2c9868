/**
 * The OPC UA connector's configuration: its JSON Schema (TypeBox) and the settings it resolves to once
 * the defaults are filled in.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Defaults of the optional fields; the schema advertises the same values. */
export const OPCUA_DEFAULTS = {
  samplingIntervalMs: 250,
  publishingIntervalMs: 500,
  reconnect: { initialDelayMs: 500, maxDelayMs: 10000 },
} as const;

const SignalBinding = Type.Object(
  {
    nodeId: Type.String({
      minLength: 1,
      description: 'OPC UA node id of the variable, in the string form (ns=<index>;s=|i=|g=|b=<identifier>)',
      examples: ['ns=1;s=Line1.Filler.Running'],
    }),
    equipmentId: Type.String({
      minLength: 1,
      description: 'ISA-95 equipment id the signal belongs to',
      examples: ['FILLER-01'],
    }),
    signal: Type.String({
      minLength: 1,
      description: 'Name of the signal on that equipment, as mappings refer to it',
      examples: ['running'],
    }),
  },
  { additionalProperties: false, description: 'One OPC UA variable bound to a signal of a piece of equipment' },
);

/** JSON Schema of the `opcua` connector's configuration. */
export const OpcuaConfigSchema = Type.Object(
  {
    endpointUrl: Type.String({
      pattern: '^opc\\.tcp://[^\\s]+$',
      description: 'Endpoint of the OPC UA server (security mode None for now)',
      examples: ['opc.tcp://scada-01.plant.local:4840'],
    }),
    system: Type.String({
      pattern: '^[a-z][a-z0-9-]{0,39}$',
      description: 'Handover system id whose payloads these are',
      examples: ['scada'],
    }),
    samplingIntervalMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'How often the server samples each variable (0: as fast as the server can)',
        default: OPCUA_DEFAULTS.samplingIntervalMs,
        examples: [250],
      }),
    ),
    publishingIntervalMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        description: 'How often the server sends the changes it sampled',
        default: OPCUA_DEFAULTS.publishingIntervalMs,
        examples: [500],
      }),
    ),
    signals: Type.Array(SignalBinding, {
      description: 'Variables to subscribe to; each data change becomes one signal payload',
      examples: [[{ nodeId: 'ns=1;s=Line1.Filler.Running', equipmentId: 'FILLER-01', signal: 'running' }]],
    }),
    writes: Type.Optional(
      Type.Array(SignalBinding, {
        description: 'Variables the hub may write to (write(equipmentId, signal, value)); any other write is refused',
        default: [],
        examples: [[{ nodeId: 'ns=1;s=Line1.Filler.Setpoint', equipmentId: 'FILLER-01', signal: 'speedSetpoint' }]],
      }),
    ),
    reconnect: Type.Optional(
      Type.Object(
        {
          initialDelayMs: Type.Optional(
            Type.Integer({
              minimum: 10,
              description: 'First delay before connecting again after a failure; doubles on each failure',
              default: OPCUA_DEFAULTS.reconnect.initialDelayMs,
              examples: [500],
            }),
          ),
          maxDelayMs: Type.Optional(
            Type.Integer({
              minimum: 10,
              description: 'Longest delay between two connection attempts',
              default: OPCUA_DEFAULTS.reconnect.maxDelayMs,
              examples: [10000],
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Backoff between connection attempts while the server cannot be reached',
          default: OPCUA_DEFAULTS.reconnect,
          examples: [{ initialDelayMs: 500, maxDelayMs: 10000 }],
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'Subscribe to OPC UA variables and emit each change as a signal' },
);

/** The configuration as written (optional fields may be missing). */
export type OpcuaConfig = Static<typeof OpcuaConfigSchema>;

/** A variable bound to an equipment signal. */
export type SignalBinding = Static<typeof SignalBinding>;

/** The configuration with every default filled in. */
export interface OpcuaSettings {
  endpointUrl: string;
  system: string;
  samplingIntervalMs: number;
  publishingIntervalMs: number;
  signals: SignalBinding[];
  writes: SignalBinding[];
  reconnect: { initialDelayMs: number; maxDelayMs: number };
}

/** Fills the defaults of a configuration that already passed its schema. */
export function resolveSettings(config: OpcuaConfig): OpcuaSettings {
  const initialDelayMs = config.reconnect?.initialDelayMs ?? OPCUA_DEFAULTS.reconnect.initialDelayMs;
  return {
    endpointUrl: config.endpointUrl,
    system: config.system,
    samplingIntervalMs: config.samplingIntervalMs ?? OPCUA_DEFAULTS.samplingIntervalMs,
    publishingIntervalMs: config.publishingIntervalMs ?? OPCUA_DEFAULTS.publishingIntervalMs,
    signals: config.signals,
    writes: config.writes ?? [],
    reconnect: {
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, config.reconnect?.maxDelayMs ?? OPCUA_DEFAULTS.reconnect.maxDelayMs),
    },
  };
}
