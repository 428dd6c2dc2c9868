/** The envelope every canonical document travels in: identity, ordering and provenance. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, Identifier, SCHEMA_BASE } from './common';
import { CANONICAL_TYPES } from './types';

/** OAGIS/B2MML verbs: what the sender asks the receiver to do with the document. */
export const VERBS = [
  'Process',
  'Sync',
  'Change',
  'Cancel',
  'Show',
  'Notify',
  'Acknowledge',
  'Respond',
  'Get',
] as const;
export type Verb = (typeof VERBS)[number];

export const Envelope = Type.Object(
  {
    messageId: Type.String({ minLength: 1, maxLength: 200, description: 'Unique id of this message' }),
    type: Type.Unsafe<(typeof CANONICAL_TYPES)[number]>({
      type: 'string',
      enum: [...CANONICAL_TYPES],
      description: 'Canonical document type',
    }),
    objectKey: Identifier,
    version: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Sender’s version of the object; ordering falls back to occurredAt' }),
    ),
    verb: Type.Optional(
      Type.Unsafe<Verb>({ type: 'string', enum: [...VERBS], description: 'What the sender asks for (OAGIS verb)' }),
    ),
    sourceSystem: Identifier,
    occurredAt: DateTime,
    receivedAt: DateTime,
    correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    causationId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    document: Type.Object({}, { additionalProperties: true, description: 'The canonical document of `type`' }),
  },
  {
    $id: `${SCHEMA_BASE}Envelope.json`,
    title: 'Envelope',
    description: 'Message id, type, object key, version, source system, times, correlation and causation ids',
    additionalProperties: false,
  },
);
export type EnvelopeShell = Static<typeof Envelope>;
