/** The one place connectors are registered: a connector folder missing here fails a test. */
import { b2mmlConnector } from './b2mml/index';
import { httpConnector } from './http/index';
import { mqttConnector } from './mqtt/index';
import { opcuaConnector } from './opcua/index';
import { sapIdocConnector } from './sap-idoc/index';
import type { ConnectorDefinition } from './types';

export const connectors: Record<string, ConnectorDefinition> = {
  [httpConnector.kind]: httpConnector as unknown as ConnectorDefinition,
  [b2mmlConnector.kind]: b2mmlConnector as unknown as ConnectorDefinition,
  [sapIdocConnector.kind]: sapIdocConnector as unknown as ConnectorDefinition,
  [opcuaConnector.kind]: opcuaConnector as unknown as ConnectorDefinition,
  [mqttConnector.kind]: mqttConnector as unknown as ConnectorDefinition,
};

export type { Connector, ConnectorContext, ConnectorDefinition, InboundPayload, OutboundDocument } from './types';
