/**
 * The hub configuration file's JSON Schema (one YAML file): systems, ownership rules and routes.
 * Secrets never appear here: tokens come from the environment (see secrets.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { HttpConfig } from '../../connectors/http/index';
import { ContextConfig } from '../context-engine/config';
import { CANONICAL_TYPES } from '../../schemas/types';

const systemId = (description: string) =>
  Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', description, examples: ['erp'] });
const SystemId = systemId('System id: lower case letters, digits and dashes; used in URLs and env variable names');

export const SystemConfig = Type.Object(
  {
    id: SystemId,
    name: Type.String({ minLength: 1, description: 'Display name', examples: ['SAP S/4HANA'] }),
    processOwner: Type.String({
      minLength: 1,
      description: 'Who owns the business process',
      examples: ['Production planning'],
    }),
    technicalOwner: Type.String({ minLength: 1, description: 'Who runs the system', examples: ['ERP basis team'] }),
  },
  { additionalProperties: false, description: 'A system that sends or receives documents' },
);
export type SystemConfig = Static<typeof SystemConfig>;

const NonOwnerWrite = Type.Union([Type.Literal('reject'), Type.Literal('propose')], {
  description:
    'What happens when a system writes an object or field it does not own: refuse it, or forward it to the owner',
  default: 'reject',
});

const ScopeRule = Type.Object(
  {
    equipment: Type.String({
      minLength: 1,
      description: 'Equipment id the rule applies to (site, area, line…)',
      examples: ['PACK-LINE-2'],
    }),
    owner: SystemId,
  },
  { additionalProperties: false },
);

export const TypeOwnership = Type.Object(
  {
    owner: systemId('System of record: may create the object and change its fields'),
    fields: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]*$' }), SystemId, {
        description: 'Field groups owned by another system: top-level field → owner',
        examples: [{ state: 'mes' }],
      }),
    ),
    scopes: Type.Optional(
      Type.Array(ScopeRule, {
        description: 'Owner overrides for documents scoped to a piece of equipment (first match wins)',
        default: [],
      }),
    ),
    onNonOwnerWrite: Type.Optional(
      Type.Union([Type.Literal('reject'), Type.Literal('propose')], {
        description: 'Overrides the global setting for this type',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TypeOwnership = Static<typeof TypeOwnership>;

export const OwnershipConfig = Type.Object(
  {
    ...Object.fromEntries(CANONICAL_TYPES.map((type) => [type, Type.Optional(TypeOwnership)])),
    onNonOwnerWrite: NonOwnerWrite,
  },
  { additionalProperties: false, description: 'System of record per canonical type' },
);
export type OwnershipConfig = { onNonOwnerWrite: 'reject' | 'propose' } & Partial<
  Record<(typeof CANONICAL_TYPES)[number], TypeOwnership>
>;

export const RetryPolicy = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 8,
      description: 'Delivery attempts before a dead letter',
    }),
    backoffMs: Type.Integer({ minimum: 1, default: 500, description: 'First retry delay; doubles each attempt' }),
    maxBackoffMs: Type.Integer({ minimum: 1, default: 60000, description: 'Upper bound of the retry delay' }),
  },
  { additionalProperties: false },
);

export const RouteConfig = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'Route id', examples: ['orders-to-mes'] }),
    target: SystemId,
    types: Type.Array(Type.Unsafe<(typeof CANONICAL_TYPES)[number]>({ type: 'string', enum: [...CANONICAL_TYPES] }), {
      minItems: 1,
      description: 'Canonical types this route carries',
    }),
    filter: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1 }),
        Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]),
        {
          description: 'Deliver only documents whose field (dotted path) equals the value or one of the values',
          examples: [{ 'hierarchyScope.equipmentId': ['PACK-LINE-1'] }],
        },
      ),
    ),
    format: Type.Union([Type.Literal('json'), Type.Literal('b2mml'), Type.Literal('mapped')], {
      default: 'json',
      description: 'Outbound format: canonical JSON envelope, B2MML V0700 XML, or the target system’s outbound mapping',
    }),
    url: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        description: 'Where documents are POSTed (the http connector); give url or connector',
        examples: ['http://mes.plant.local/api/handover'],
      }),
    ),
    connector: Type.Optional(
      Type.String({
        description: 'Id of a configured outbound connector (mqtt, b2mml, sap-idoc…) to send through instead of url',
      }),
    ),
    method: HttpConfig.properties.method,
    headers: Type.Optional(HttpConfig.properties.headers),
    auth: HttpConfig.properties.auth,
    timeoutMs: Type.Integer({ minimum: 1, default: 10000, description: 'Per-attempt HTTP timeout' }),
    retry: Type.Optional(RetryPolicy),
  },
  { additionalProperties: false, description: 'Which documents go to which system, how' },
);
export type RouteConfig = Static<typeof RouteConfig>;

export const ConnectorInstance = Type.Object(
  {
    id: Type.String({
      pattern: '^[a-z][a-z0-9-]{0,63}$',
      description: 'Connector instance id',
      examples: ['line1-plc'],
    }),
    kind: Type.String({ description: 'Connector kind (a folder of connectors/)', examples: ['opcua', 'mqtt'] }),
    config: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Configuration, validated by the kind’s own schema',
    }),
  },
  { additionalProperties: false, description: 'A connector the hub runs: it feeds its system’s payloads into ingest' },
);
export type ConnectorInstance = Static<typeof ConnectorInstance>;

/**
 * How long the store keeps what it no longer needs: raw payloads and completed deliveries. The
 * messages, their decisions, objects with their history, dead letters and the audit log are kept.
 */
export const RetentionConfig = Type.Object(
  {
    payloadDays: Type.Integer({
      minimum: 0,
      maximum: 36500,
      default: 30,
      description:
        'Days a message’s raw payload is kept after it was received; 0 keeps payloads forever. A payload an ingest dead letter needs is always kept',
      examples: [30],
    }),
    deliveryDays: Type.Integer({
      minimum: 0,
      maximum: 36500,
      default: 30,
      description:
        'Days a delivered or superseded delivery (with the envelope it sent) is kept; 0 keeps them forever. Pending and dead deliveries, and any a dead letter names, are always kept',
      examples: [30],
    }),
    intervalMinutes: Type.Integer({
      minimum: 1,
      maximum: 1440,
      default: 10,
      description: 'How often one worker process removes what is past its retention',
      examples: [10],
    }),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 500,
      description: 'Rows removed per store transaction: small batches never hold the store for long',
      examples: [500],
    }),
  },
  { additionalProperties: false, description: 'Retention of payloads and completed deliveries' },
);
export type RetentionConfig = Static<typeof RetentionConfig>;

/** The retention that applies when the configuration has no `retention` section. */
export const DEFAULT_RETENTION: RetentionConfig = {
  payloadDays: 30,
  deliveryDays: 30,
  intervalMinutes: 10,
  batchSize: 500,
};

export const HubConfigSchema = Type.Object(
  {
    connectors: Type.Array(ConnectorInstance, { default: [] }),
    systems: Type.Array(SystemConfig, { minItems: 1 }),
    ownership: OwnershipConfig,
    routes: Type.Array(RouteConfig, { default: [] }),
    limits: Type.Optional(
      Type.Object(
        {
          maxBodyBytes: Type.Integer({
            minimum: 1024,
            default: 10485760,
            description: 'Largest inbound body accepted',
            examples: [10485760],
          }),
          maxJsonDepth: Type.Integer({
            minimum: 1,
            maximum: 10000,
            default: 64,
            description:
              'Deepest nesting of arrays and objects accepted in an inbound JSON body; deeper is refused at the door (JSON_TOO_DEEP)',
            examples: [64],
          }),
          mappingTimeoutMs: Type.Integer({
            minimum: 10,
            maximum: 60000,
            default: 1000,
            description:
              'Longest one mapping expression may run on one payload (mappings may set their own timeoutMs); past it the message is a MAPPING_TIMEOUT dead letter',
            examples: [1000],
          }),
        },
        { additionalProperties: false },
      ),
    ),
    retention: Type.Optional(RetentionConfig),
    context: Type.Optional(ContextConfig),
    partitions: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 16,
      description: 'Delivery partitions per target: one object’s deliveries always go through the same one, in order',
    }),
  },
  { additionalProperties: false, $id: 'https://handover.dev/schemas/v1/HubConfig.json', title: 'HubConfig' },
);

/** The configuration after validation, defaults applied. */
export interface HubConfig {
  systems: SystemConfig[];
  connectors: ConnectorInstance[];
  ownership: OwnershipConfig;
  routes: Array<RouteConfig & { retry: Static<typeof RetryPolicy> }>;
  limits: { maxBodyBytes: number; maxJsonDepth: number; mappingTimeoutMs: number };
  retention: RetentionConfig;
  /** The operational-context engine (hub/context-engine/), when configured. */
  context?: ContextConfig;
  partitions: number;
}
