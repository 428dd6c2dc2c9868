/** The `http` connector: delivers documents to a system's HTTP endpoint (the inbound side is the hub's own API). */
import { Type } from '@sinclair/typebox';
import { defineConnector } from '../types';
import { httpOutbound } from './outbound';

export const HttpConfig = Type.Object(
  {
    url: Type.String({
      format: 'uri',
      pattern: '^https?://',
      description: 'Endpoint documents are sent to',
      examples: ['https://mes.plant.local/api/handover'],
    }),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT')], { default: 'POST', description: 'HTTP method' }),
    headers: Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), {
      default: {},
      description: 'Extra headers (never secrets: use auth)',
      examples: [{ 'x-plant': 'PLANT1' }],
    }),
    auth: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              type: Type.Literal('bearer'),
              tokenEnv: Type.String({
                description: 'Environment variable holding the token',
                examples: ['MES_API_TOKEN'],
              }),
            },
            { additionalProperties: false },
          ),
          Type.Object(
            {
              type: Type.Literal('basic'),
              usernameEnv: Type.String({
                description: 'Environment variable holding the user name',
                examples: ['SAP_USER'],
              }),
              passwordEnv: Type.String({
                description: 'Environment variable holding the password',
                examples: ['SAP_PASSWORD'],
              }),
            },
            { additionalProperties: false },
          ),
        ],
        { description: 'How to authenticate; credentials come from the environment' },
      ),
    ),
    timeoutMs: Type.Integer({ minimum: 1, default: 10000, description: 'Per-attempt timeout' }),
  },
  { additionalProperties: false },
);

export const httpConnector = defineConnector({
  kind: 'http',
  description: 'POST or PUT documents to an HTTP endpoint, with headers, authentication and a timeout per attempt',
  configSchema: HttpConfig,
  create: (config) => httpOutbound(config),
});
