/** The one place connectors are registered: a connector folder missing here fails a test. */
import { httpConnector } from './http/index';
import type { ConnectorDefinition } from './types';

export const connectors: Record<string, ConnectorDefinition> = {
  [httpConnector.kind]: httpConnector as unknown as ConnectorDefinition,
};

export type { Connector, ConnectorContext, ConnectorDefinition, InboundPayload, OutboundDocument } from './types';
