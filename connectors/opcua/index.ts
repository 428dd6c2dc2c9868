/**
 * The `opcua` connector: subscribes to OPC UA variables and emits each change as a JSON signal
 * payload of the configured system; optionally writes values to the variables listed under `writes`.
 */
import { defineConnector, type Connector, type ConnectorContext } from '../types';
import { OpcuaConfigSchema, type OpcuaConfig } from './config';

export { OpcuaConfigSchema, type OpcuaConfig, type SignalBinding } from './config';
export { OPCUA_ERRORS, OpcuaError, type OpcuaErrorCode } from './errors';
export type { JsonValue, SignalMessage, SignalQuality } from './signal-message';

/** A running OPC UA connector: the contract, plus writes to the variables listed under `writes`. */
export interface OpcuaConnector extends Connector {
  /**
   * Writes a value to the variable bound to `equipmentId`/`signal` under `writes`; anything else is
   * refused with OPCUA_WRITE_NOT_ALLOWED. Needs the connection to be up (OPCUA_NOT_CONNECTED otherwise).
   */
  write(equipmentId: string, signal: string, value: unknown): Promise<void>;
}

/**
 * Creates an OPC UA connector instance; `start()` connects, `stop()` closes everything. node-opcua
 * is loaded at the first start or test, so configurations without OPC UA never pay for it.
 */
export function createOpcuaConnector(config: OpcuaConfig, context: ConnectorContext): OpcuaConnector {
  let instance: OpcuaConnector | undefined;
  const load = async () => {
    // A require, not import(): Jest's CommonJS runtime cannot run native dynamic imports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require('./connector') as typeof import('./connector.js');
    return (instance ??= module.createOpcuaConnector(config, context));
  };
  return {
    // Every OPC UA instance monitors its signals.
    receives: true,
    start: async () => (await load()).start(),
    stop: async () => {
      if (instance) await instance.stop();
    },
    health: () => instance?.health() ?? { status: 'down', detail: 'not started' },
    test: async () => (await load()).test(),
    write: async (equipmentId, signal, value) => (await load()).write(equipmentId, signal, value),
  };
}

/** The `opcua` connector definition, registered in connectors/index.ts. */
export const opcuaConnector = defineConnector({
  kind: 'opcua',
  description:
    'Subscribes to OPC UA variables (opc.tcp, security mode None) and emits every data change as a JSON ' +
    'signal payload (equipment id, signal, value, quality, timestamps); writes to the variables listed under writes.',
  configSchema: OpcuaConfigSchema,
  create: createOpcuaConnector,
});
