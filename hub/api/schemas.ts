/**
 * The request bodies and query parameters of the API as JSON Schemas (TypeBox): mount.ts checks
 * every request against its operation's schemas before the handler runs, and the OpenAPI document
 * (operations.ts) publishes the same schemas — what is documented is what is enforced.
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ROLES } from '../access/roles';
import { toProblems } from '../../schemas/validate';
import type { Problem } from '../../schemas/problem';

const text = (description: string, maxLength = 200) => Type.String({ minLength: 1, maxLength, description });
const time = (description: string) => Type.String({ format: 'date-time', description });
/** One of a few strings: an `enum` (answered as "must be one of …"), typed as their union. */
const choice = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
const digits = (description: string) => Type.String({ pattern: '^[0-9]{1,9}$', description });

/** Why a person makes a change: required for every change that is not undone by itself. */
const Reason = Type.String({
  minLength: 1,
  maxLength: 500,
  pattern: '\\S',
  description: 'Why (1 to 500 characters, not only spaces); audited with who',
});

/** Which mapping an ingest dead letter's replay translates with (pipeline/replay.ts). */
const ReplayMapping = choice(
  ['original', 'current'],
  'Ingest dead letters: "current" (default) translates with the mappings loaded now, "original" with the version that first translated the message, as the hub kept it. A delivery is always rendered with the outbound mapping loaded now.',
);

export const LoginBody = Type.Object(
  { user: text('The user name'), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

export const ReplayOneBody = Type.Object(
  { mapping: Type.Optional(ReplayMapping), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const BulkReplayBody = Type.Object(
  {
    stage: Type.Optional(choice(['ingest', 'deliver'])),
    code: Type.Optional(text('The dead letters’ code')),
    system: Type.Optional(text('The sending system')),
    target: Type.Optional(text('The target of a delivery dead letter')),
    from: Type.Optional(time('Filed at or after')),
    to: Type.Optional(time('Filed before')),
    mapping: Type.Optional(ReplayMapping),
    reason: Reason,
  },
  { additionalProperties: false },
);

export const DowntimeReasonBody = Type.Object(
  {
    reasonCode: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^(?!0$)',
      description: 'A reason code of the catalogue (0 is “no reason”)',
    }),
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export const DryRunBody = Type.Object(
  {
    payload: Type.String({ description: 'The payload as text' }),
    contentType: Type.Optional(choice(['json', 'xml'])),
    version: Type.Optional(Type.Integer({ minimum: 0, description: 'That version only; the highest loaded without' })),
  },
  { additionalProperties: false },
);

export const AddUserBody = Type.Object(
  {
    name: text('The user’s name', 64),
    role: choice(ROLES, 'One role'),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'For the console; without, the user has a token only',
      }),
    ),
  },
  { additionalProperties: false },
);

export const MessageSearchQuery = Type.Object({
  messageId: Type.Optional(text('A message id')),
  objectKey: Type.Optional(text('An object key (with type)')),
  type: Type.Optional(text('A canonical type')),
  correlationId: Type.Optional(text('A correlation id')),
  idempotencyKey: Type.Optional(text('An Idempotency-Key (with system)')),
  system: Type.Optional(text('The sending system')),
  status: Type.Optional(choice(['received', 'routed', 'invalid', 'failed'])),
  from: Type.Optional(time('Received at or after')),
  to: Type.Optional(time('Received before')),
  limit: Type.Optional(digits('Page size, 1 to 500 (default 50)')),
  cursor: Type.Optional(text('The previous page’s `next`', 1000)),
});

export const ObjectsQuery = Type.Object({
  type: text('A canonical type'),
  after: Type.Optional(text('The previous page’s `next` (its last key)', 1000)),
  limit: Type.Optional(digits('Page size, 1 to 1000 (default 200)')),
});

export const OeeQuery = Type.Object({
  equipment: text('A line or work unit of the context configuration'),
  from: time('Start of the period'),
  to: time('End of the period, after from'),
  groupBy: Type.Optional(choice(['shift', 'order'])),
});

export const DeadLettersQuery = Type.Object({
  all: Type.Optional(choice(['true', 'false'], 'Also closed ones')),
});

export const FlowQuery = Type.Object({ minutes: Type.Optional(digits('1 to 120 (default 60)')) });

const auditFilter = {
  from: Type.Optional(time('At or after')),
  to: Type.Optional(time('Before')),
  type: Type.Optional(text('A canonical type')),
  system: Type.Optional(text('A system')),
  decision: Type.Optional(text('A decision: accepted, rejected, stale, …')),
};

export const AuditQuery = Type.Object({
  ...auditFilter,
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Records after this sequence number' })),
  limit: Type.Optional(digits('1 to 10000 (default 1000)')),
});

export const AuditExportQuery = Type.Object({
  format: choice(['csv', 'jsonl']),
  ...auditFilter,
});

export type AuditFilterQuery = Pick<Static<typeof AuditQuery>, keyof typeof auditFilter>;

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
const compiled = new WeakMap<TSchema, ValidateFunction>();

/**
 * The problems of `value` against `schema`, located from `basePath` (`''` for a body: `/reason`;
 * `?` for a query: `?limit`).
 */
export function problemsOf(schema: TSchema, value: unknown, basePath = ''): Problem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  const problems = toProblems(validate.errors ?? [], '');
  return problems.map((problem) => ({
    ...problem,
    path: basePath === '?' ? `?${problem.path.replace(/^\//, '').replace(/\//g, '.')}` : basePath + problem.path || '/',
  }));
}

/** The schemas an operation checks: a JSON body, and query parameters. */
export interface OperationSchemas {
  body?: { schema: TObject; limit: string; optional?: boolean };
  query?: TObject;
}
