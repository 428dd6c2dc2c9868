/**
 * The `sap-idoc` connector: IDoc XML to SAP's HTTP IDoc inbound (`/sap/bc/idoc_xml`). Inbound
 * IDocs (LOIPRO01…) arrive on the hub's own API and are translated by `mappings/erp/`.
 */
import { Type } from '@sinclair/typebox';
import { httpOutbound } from '../http/outbound';
import { defineConnector } from '../types';

export const SapIdocConfig = Type.Object(
  {
    url: Type.String({
      format: 'uri',
      pattern: '^https?://',
      description: 'SAP IDoc XML inbound endpoint',
      examples: ['https://s4h.plant.local:44300/sap/bc/idoc_xml'],
    }),
    client: Type.String({ pattern: '^\\d{3}$', description: 'SAP client (sap-client)', examples: ['100'] }),
    usernameEnv: Type.String({
      description: 'Environment variable with the SAP user',
      default: 'SAP_USER',
      examples: ['SAP_USER'],
    }),
    passwordEnv: Type.String({
      description: 'Environment variable with the SAP password',
      default: 'SAP_PASSWORD',
      examples: ['SAP_PASSWORD'],
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      default: 30000,
      description: 'Per-attempt timeout (SAP posts IDocs synchronously)',
    }),
  },
  { additionalProperties: false },
);

export const sapIdocConnector = defineConnector({
  kind: 'sap-idoc',
  description: 'Send IDoc XML (WMMBXY goods movements, …) to SAP over HTTP with basic authentication',
  configSchema: SapIdocConfig,
  create: (config) => {
    const url = new URL(config.url);
    url.searchParams.set('sap-client', config.client);
    return httpOutbound({
      url: url.toString(),
      method: 'POST',
      headers: {},
      auth: {
        type: 'basic',
        usernameEnv: config.usernameEnv ?? 'SAP_USER',
        passwordEnv: config.passwordEnv ?? 'SAP_PASSWORD',
      },
      timeoutMs: config.timeoutMs ?? 30000,
    });
  },
});
