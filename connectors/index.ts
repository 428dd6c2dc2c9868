/** The one place connectors are registered: a connector folder missing here fails a test. */
import type { ConnectorDefinition } from './types';

export const connectors: Record<string, ConnectorDefinition> = {};

export type { Connector, ConnectorContext, ConnectorDefinition, InboundPayload, OutboundDocument } from './types';
