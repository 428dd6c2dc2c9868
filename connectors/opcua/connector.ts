/** The OPC UA connector proper; loaded only when one is configured, because node-opcua is heavy to load. */
import type { ConnectorContext } from '../types';
import { testConnection } from './client';
import { resolveSettings, type OpcuaConfig } from './config';
import { OpcuaInbound } from './inbound';
import type { OpcuaConnector } from './index';
import { OpcuaWriter } from './outbound';

/** Creates an OPC UA connector instance; `start()` connects, `stop()` closes everything. */
export function createOpcuaConnector(config: OpcuaConfig, context: ConnectorContext): OpcuaConnector {
  const settings = resolveSettings(config);
  const inbound = new OpcuaInbound(settings, context);
  const writer = new OpcuaWriter(settings.writes, () => inbound.currentSession());
  return {
    start: () => inbound.start(),
    stop: () => inbound.stop(),
    health: () => inbound.health(),
    test: () => testConnection(settings, context.dataDir),
    write: (equipmentId, signal, value) => writer.write(equipmentId, signal, value),
  };
}
