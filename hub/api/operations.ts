/**
 * Every route of the HTTP API, with who may call it: one table, from which the routes are mounted
 * with their access check (hub/api/access.ts) and the OpenAPI document is written
 * (GET /api/v1/openapi.json). A route is not in the API unless it is here.
 */
import { ROLES, ROLE_PURPOSE, type Role } from '../access/roles';
import { REPLAY_ERRORS } from '../pipeline/errors';
import { API_ERRORS, type ApiErrorCode } from './errors';
import {
  AddUserBody,
  AuditExportQuery,
  AuditQuery,
  BulkReplayBody,
  DeadLettersQuery,
  DowntimeReasonBody,
  DryRunBody,
  FlowQuery,
  LoginBody,
  MessageSearchQuery,
  ObjectsQuery,
  OeeQuery,
  ReasonBody,
  ReplayOneBody,
  type OperationSchemas,
} from './schemas';

type ErrorCode = ApiErrorCode | keyof typeof REPLAY_ERRORS;
const STATUS_OF: Record<ErrorCode, { status: number }> = { ...API_ERRORS, ...REPLAY_ERRORS };

/**
 * Who may call an operation: anyone; any signed-in user (or the admin token); users of these roles
 * (admin always, and `systems`, the tokens of systems named by the configuration); or only the token
 * of the system in the path.
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'user' }
  | { kind: 'roles'; roles: Role[]; systems?: 'reasonEditors' }
  | { kind: 'system' };

export interface Operation {
  operationId: string;
  method: 'get' | 'post' | 'delete';
  /** OpenAPI form: `/api/v1/messages/{id}`. */
  path: string;
  summary: string;
  access: Access;
  /** The success status. */
  status: 200 | 201 | 202 | 204;
  /** Answers besides the access errors, by code. */
  errors: ErrorCode[];
  /** Its JSON body: schema (checked before the handler runs), size limit, and whether it may be left out. */
  body?: OperationSchemas['body'];
  /** Its query parameters (checked before the handler runs; others are ignored). */
  query?: OperationSchemas['query'];
}

const body = (schema: NonNullable<Operation['body']>['schema'], limit = '16kb', optional = false) => ({
  schema,
  limit,
  ...(optional ? { optional } : {}),
});

const READERS: Role[] = ['viewer', 'operator', 'integrator', 'auditor'];
const WATCHERS: Role[] = ['viewer', 'operator', 'integrator'];
const roles = (...list: Role[]): Access => ({ kind: 'roles', roles: list });

export const OPERATIONS: Operation[] = [
  { operationId: 'getHealth', method: 'get', path: '/healthz', summary: 'The process is alive', access: { kind: 'public' }, status: 200, errors: [] },
  { operationId: 'getReadiness', method: 'get', path: '/readyz', summary: 'Redis and the database answer (503 otherwise)', access: { kind: 'public' }, status: 200, errors: ['UNAVAILABLE'] },
  { operationId: 'getMetrics', method: 'get', path: '/metrics', summary: 'Prometheus metrics', access: { kind: 'public' }, status: 200, errors: [] },
  { operationId: 'getOpenApi', method: 'get', path: '/api/v1/openapi.json', summary: 'This document', access: { kind: 'public' }, status: 200, errors: [] },
  { operationId: 'postInbound', method: 'post', path: '/api/v1/inbound/{system}', summary: 'A system sends a payload (its own token only)', access: { kind: 'system' }, status: 202, errors: ['UNKNOWN_SYSTEM', 'UNSUPPORTED_MEDIA_TYPE', 'BODY_TOO_LARGE', 'JSON_MALFORMED', 'JSON_TOO_DEEP', 'BODY_NOT_UTF8', 'BAD_REQUEST', 'QUEUE_UNAVAILABLE', 'UNAVAILABLE'] },
  { operationId: 'openSession', method: 'post', path: '/api/v1/session', summary: 'Log in with user and password: a session cookie and its CSRF token', access: { kind: 'public' }, status: 200, body: body(LoginBody, '8kb'), errors: ['BAD_REQUEST', 'LOGIN_FAILED', 'LOGIN_RATE_LIMITED', 'UNAVAILABLE'] },
  { operationId: 'getSession', method: 'get', path: '/api/v1/session', summary: 'Who is signed in, with which role, and the CSRF token', access: { kind: 'user' }, status: 200, errors: [] },
  { operationId: 'closeSession', method: 'delete', path: '/api/v1/session', summary: 'Log out', access: { kind: 'user' }, status: 204, errors: [] },
  { operationId: 'searchMessages', method: 'get', path: '/api/v1/messages', summary: 'Search messages (newest first, keyset pages): by id, object, correlation id, Idempotency-Key, system, status, time', access: roles(...READERS), status: 200, query: MessageSearchQuery, errors: ['BAD_REQUEST'] },
  { operationId: 'getMessage', method: 'get', path: '/api/v1/messages/{id}', summary: 'A message’s trace: decisions, deliveries, audit', access: roles(...READERS), status: 200, errors: ['NOT_FOUND'] },
  { operationId: 'listObjects', method: 'get', path: '/api/v1/objects', summary: 'The current objects of one type, by key (keyset pages)', access: roles(...READERS), status: 200, query: ObjectsQuery, errors: ['BAD_REQUEST', 'NOT_FOUND'] },
  { operationId: 'getObject', method: 'get', path: '/api/v1/objects/{type}/{key}', summary: 'An object’s current revision, owner and watermarks', access: roles(...READERS), status: 200, errors: ['NOT_FOUND'] },
  { operationId: 'getOwnership', method: 'get', path: '/api/v1/ownership', summary: 'Systems and ownership rules as configured', access: roles(...READERS), status: 200, errors: [] },
  { operationId: 'listEquipment', method: 'get', path: '/api/v1/equipment', summary: 'The lines and work units of the context configuration', access: roles(...WATCHERS), status: 200, errors: [] },
  { operationId: 'getEquipmentState', method: 'get', path: '/api/v1/equipment/{id}/state', summary: 'A work unit’s state, open stop, running order and counters', access: roles(...WATCHERS), status: 200, errors: ['NOT_FOUND'] },
  { operationId: 'getOee', method: 'get', path: '/api/v1/oee', summary: 'ISO 22400 time elements, KPIs and losses', access: roles(...WATCHERS), status: 200, query: OeeQuery, errors: ['BAD_REQUEST', 'NOT_FOUND'] },
  { operationId: 'listConnectors', method: 'get', path: '/api/v1/connectors', summary: 'Connectors and their health', access: roles(...WATCHERS), status: 200, errors: [] },
  { operationId: 'testConnector', method: 'post', path: '/api/v1/connectors/{id}/test', summary: 'Test a connector’s connection', access: roles('operator'), status: 200, errors: ['NOT_FOUND'] },
  { operationId: 'listDeadLetters', method: 'get', path: '/api/v1/dead-letters', summary: 'Dead letters', access: roles(...WATCHERS), status: 200, query: DeadLettersQuery, errors: [] },
  { operationId: 'replayDeadLetters', method: 'post', path: '/api/v1/dead-letters/replay', summary: 'Replay every dead letter matching a filter, with a reason', access: roles('operator'), status: 200, body: body(BulkReplayBody), errors: ['BAD_REQUEST'] },
  { operationId: 'replayDeadLetter', method: 'post', path: '/api/v1/dead-letters/{id}/replay', summary: 'Replay one dead letter (not a discarded one), with the current or the original mapping', access: roles('operator'), status: 202, body: body(ReplayOneBody, '16kb', true), errors: ['BAD_REQUEST', 'NOT_FOUND', 'REPLAY_WOULD_ROLL_BACK', 'REPLAY_MAPPING_UNKNOWN', 'DEAD_LETTER_CLOSED'] },
  { operationId: 'setDowntimeReason', method: 'post', path: '/api/v1/downtime/{id}/reason', summary: 'Assign or correct a stop’s reason', access: { kind: 'roles', roles: ['operator'], systems: 'reasonEditors' }, status: 202, body: body(DowntimeReasonBody), errors: ['BAD_REQUEST', 'NOT_FOUND', 'QUEUE_UNAVAILABLE'] },
  { operationId: 'discardDeadLetter', method: 'post', path: '/api/v1/dead-letters/{id}/discard', summary: 'Discard an open dead letter, with a reason (audited)', access: roles('operator'), status: 200, body: body(ReasonBody), errors: ['BAD_REQUEST', 'NOT_FOUND', 'DEAD_LETTER_CLOSED'] },
  { operationId: 'getFlow', method: 'get', path: '/api/v1/flow', summary: 'Messages in and out per system, decisions by kind, dead letters and errors, per 10 s, for the last `minutes` (default 60)', access: roles(...WATCHERS), status: 200, query: FlowQuery, errors: ['BAD_REQUEST'] },
  { operationId: 'streamEvents', method: 'get', path: '/api/v1/events', summary: 'Server-sent events: `flow` with the newest 10 s buckets every 2 s', access: roles(...WATCHERS), status: 200, errors: [] },
  { operationId: 'listQueues', method: 'get', path: '/api/v1/queues', summary: 'Per queue: waiting, active, delayed, failed, oldest waiting age, workers; targets paused or not', access: roles(...WATCHERS), status: 200, errors: [] },
  { operationId: 'pauseTarget', method: 'post', path: '/api/v1/targets/{system}/pause', summary: 'Pause a target’s deliveries, with a reason (audited); they wait in order', access: roles('operator'), status: 200, body: body(ReasonBody), errors: ['BAD_REQUEST', 'NOT_FOUND'] },
  { operationId: 'resumeTarget', method: 'post', path: '/api/v1/targets/{system}/resume', summary: 'Resume a target’s deliveries, with a reason (audited)', access: roles('operator'), status: 200, body: body(ReasonBody), errors: ['BAD_REQUEST', 'NOT_FOUND'] },
  { operationId: 'listMappings', method: 'get', path: '/api/v1/mappings', summary: 'Mappings loaded, with the versions messages were mapped with', access: roles('integrator'), status: 200, errors: [] },
  { operationId: 'dryRunMapping', method: 'post', path: '/api/v1/mappings/{id}/dry-run', summary: 'Run a payload through a mapping as ingest would, writing nothing', access: roles('integrator'), status: 200, body: body(DryRunBody, '1mb'), errors: ['BAD_REQUEST', 'NOT_FOUND'] },
  { operationId: 'exportAudit', method: 'get', path: '/api/v1/audit/export', summary: 'The audit log as CSV or JSONL (the export is audited)', access: roles('auditor'), status: 200, query: AuditExportQuery, errors: ['BAD_REQUEST'] },
  { operationId: 'queryAudit', method: 'get', path: '/api/v1/audit', summary: 'Audit records by time, type, system, decision', access: roles('auditor'), status: 200, query: AuditQuery, errors: ['BAD_REQUEST'] },
  { operationId: 'verifyAudit', method: 'get', path: '/api/v1/audit/verify', summary: 'Verify the audit log’s hash chain (answered 409 with where it breaks)', access: roles('auditor'), status: 200, errors: [] },
  { operationId: 'listUsers', method: 'get', path: '/api/v1/users', summary: 'Users with role, created and last seen', access: roles('admin'), status: 200, errors: [] },
  { operationId: 'addUser', method: 'post', path: '/api/v1/users', summary: 'Add a user; answers their API token, once', access: roles('admin'), status: 201, body: body(AddUserBody, '8kb'), errors: ['BAD_REQUEST', 'USER_EXISTS'] },
  { operationId: 'removeUser', method: 'delete', path: '/api/v1/users/{name}', summary: 'Remove a user with their tokens and sessions', access: roles('admin'), status: 204, errors: ['NOT_FOUND'] },
  { operationId: 'issueUserToken', method: 'post', path: '/api/v1/users/{name}/tokens', summary: 'Issue another API token for a user; answered once', access: roles('admin'), status: 201, errors: ['NOT_FOUND'] },
]; // prettier-ignore

/** Express's form of an OpenAPI path: `{id}` → `:id`. */
export const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** The roles an operation allows (admin always), for the OpenAPI document and the role test. */
export function allowedRoles(operation: Operation): Role[] {
  const { access } = operation;
  if (access.kind === 'roles') return ROLES.filter((role) => role === 'admin' || access.roles.includes(role));
  if (access.kind === 'user') return [...ROLES];
  return [];
}

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

/** The OpenAPI 3.1 document of the API, from the table. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    const { access } = operation;
    const codes: string[] =
      access.kind === 'public'
        ? [...operation.errors]
        : ['AUTH_REQUIRED', 'AUTH_INVALID', 'FORBIDDEN_ROLE', ...operation.errors];
    if (access.kind !== 'public' && access.kind !== 'system' && operation.method !== 'get') codes.push('CSRF_INVALID');
    // What mount.ts answers for a body or a query its schema refuses.
    if ((operation.body || operation.query) && !codes.includes('BAD_REQUEST')) codes.push('BAD_REQUEST');
    if (operation.body && !codes.includes('BODY_TOO_LARGE')) codes.push('BODY_TOO_LARGE');
    const byStatus = new Map<number, string[]>();
    for (const code of codes) {
      const status = STATUS_OF[code as ErrorCode].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    const responses: Record<string, unknown> = { [operation.status]: { description: operation.summary } };
    for (const [status, list] of byStatus)
      responses[status] = {
        description: list.join(', '),
        content: { 'application/json': { schema: { ...ERROR_BODY, 'x-error-codes': list } } },
      };
    const parameters = [
      ...[...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
        name: match[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...Object.entries(operation.query?.properties ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: operation.query?.required?.includes(name) ?? false,
        schema,
        ...(schema.description ? { description: schema.description } : {}),
      })),
    ];
    (paths[operation.path] ??= {})[operation.method] = {
      operationId: operation.operationId,
      summary: operation.summary,
      'x-roles': allowedRoles(operation),
      ...(access.kind === 'roles' && access.systems ? { 'x-systems': access.systems } : {}),
      ...(access.kind === 'system' ? { 'x-systems': 'the system in the path, with its own token' } : {}),
      security:
        access.kind === 'public' ? [] : [{ bearer: [] }, ...(access.kind === 'system' ? [] : [{ session: [] }])],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.body
        ? {
            requestBody: {
              required: !operation.body.optional,
              description: `JSON, at most ${operation.body.limit}`,
              content: { 'application/json': { schema: operation.body.schema } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Handover',
      version,
      description: `Roles: ${ROLES.map((role) => `${role} — ${ROLE_PURPOSE[role]}`).join('; ')}.`,
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A user’s API token, HANDOVER_ADMIN_TOKEN, or a system’s token',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'handover_session',
          description: 'A console session; state-changing requests send its CSRF token in X-CSRF-Token',
        },
      },
    },
    paths,
  };
}
