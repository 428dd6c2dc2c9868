/** The read and operations API: traces, objects, audit, ownership, connectors, dead letters (roles in operations.ts). */
import express from 'express';
import { isCanonicalType } from '../../schemas/index';
import { describeConnector, testable } from '../connectors';
import type { HubContext } from '../context';
import { REPLAY_ERRORS } from '../pipeline/errors';
import { replayDeadLetter, replayMatching } from '../pipeline/replay';
import {
  getDeadLetter,
  getObject,
  listDeadLetters,
  messageTrace,
  queryAudit,
  verifyAudit,
  type DeadLetterFilter,
} from '../store/index';
import { equipmentState, oee, type OeeQuery } from '../context-engine/read';
import { searchMessages, SearchFilterError, type MessageSearch } from '../store/message-search';
import { ApiError } from './errors';
import { param, type Handlers } from './mount';

export function readHandlers(ctx: HubContext): Handlers {
  return {
    searchMessages: [
      async (req, res) => {
        const text = (name: string) =>
          typeof req.query[name] === 'string' && req.query[name] !== '' ? (req.query[name] as string) : undefined;
        const filter: MessageSearch = {};
        for (const name of [
          'messageId',
          'objectKey',
          'type',
          'correlationId',
          'idempotencyKey',
          'system',
          'from',
          'to',
          'cursor',
        ] as const) {
          const value = text(name);
          if (value !== undefined) filter[name] = value;
        }
        const status = text('status');
        if (status !== undefined) filter.status = status as MessageSearch['status'];
        const limit = text('limit');
        if (limit !== undefined) filter.limit = Number(limit);
        try {
          res.json(await searchMessages(ctx.db, filter));
        } catch (error) {
          if (error instanceof SearchFilterError)
            throw ApiError.of('BAD_REQUEST', [{ path: error.path, reason: error.reason }]);
          throw error;
        }
      },
    ],

    getMessage: [
      async (req, res) => {
        const trace = await messageTrace(ctx.db, param(req, 'id'));
        if (!trace)
          throw ApiError.of('NOT_FOUND', { messageId: param(req, 'id') }, 'No such message (it may still be queued)');
        res.json(trace);
      },
    ],

    getObject: [
      async (req, res) => {
        if (!isCanonicalType(param(req, 'type')))
          throw ApiError.of('NOT_FOUND', { type: param(req, 'type') }, 'No such canonical type');
        const object = await getObject(ctx.db, param(req, 'type'), param(req, 'key'));
        if (!object)
          throw ApiError.of('NOT_FOUND', { type: param(req, 'type'), key: param(req, 'key') }, 'No such object');
        res.json(object);
      },
    ],

    listEquipment: [
      (_req, res) => {
        const lines = ctx.engine?.config.lines ?? [];
        res.json({
          lines: lines.map((line) => ({
            id: line.id,
            workUnits: line.workUnits.map((unit) => ({ id: unit.id, equipmentClass: unit.equipmentClass })),
          })),
        });
      },
    ],

    getEquipmentState: [
      async (req, res) => {
        const state = ctx.engine ? await equipmentState(ctx.db, ctx.engine, param(req, 'id')) : undefined;
        if (!state)
          throw ApiError.of(
            'NOT_FOUND',
            { equipmentId: param(req, 'id') },
            'No such work unit in the context configuration',
          );
        res.json(state);
      },
    ],

    getOee: [
      async (req, res) => {
        const query = oeeQuery(req.query);
        const figures = ctx.engine ? await oee(ctx.db, ctx.engine, query) : undefined;
        if (!figures)
          throw ApiError.of(
            'NOT_FOUND',
            { equipment: query.equipment },
            'No such line or work unit in the context configuration',
          );
        res.json(figures);
      },
    ],

    verifyAudit: [
      async (_req, res) => {
        const result = await verifyAudit(ctx.db);
        res.status(result.ok ? 200 : 409).json(result);
      },
    ],

    queryAudit: [
      async (req, res) => {
        const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
        const limit = Number(text('limit') ?? 1000);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10000)
          throw ApiError.of('BAD_REQUEST', [{ path: '?limit', reason: '1 to 10000' }]);
        const records = await queryAudit(ctx.db, {
          ...(text('from') ? { from: text('from') } : {}),
          ...(text('to') ? { to: text('to') } : {}),
          ...(text('type') ? { type: text('type') } : {}),
          ...(text('system') ? { system: text('system') } : {}),
          ...(text('decision') ? { decision: text('decision') } : {}),
          ...(text('after') ? { afterSeq: Number(text('after')) } : {}),
          limit,
        });
        res.json({ records });
      },
    ],

    getOwnership: [
      (_req, res) => {
        res.json({ systems: ctx.config.systems, ownership: ctx.config.ownership });
      },
    ],

    listConnectors: [
      async (_req, res) => {
        res.json({ connectors: await Promise.all((ctx.connectors ?? []).map(describeConnector)) });
      },
    ],

    testConnector: [
      async (req, res) => {
        const running = (ctx.connectors ?? []).find((candidate) => candidate.id === param(req, 'id'));
        const connector = running && testable(running);
        if (!connector)
          throw ApiError.of('NOT_FOUND', { connector: param(req, 'id') }, 'No such connector in this process');
        res.json(await connector.test());
      },
    ],

    listDeadLetters: [
      async (req, res) => {
        res.json({ deadLetters: await listDeadLetters(ctx.db, { includeReplayed: req.query.all === 'true' }) });
      },
    ],

    replayDeadLetters: [
      express.json({ limit: '64kb' }),
      async (req, res) => {
        const { filter, reason } = bulkReplayRequest(req.body);
        res.json(await replayMatching(ctx, filter, String(res.locals['who']), reason));
      },
    ],

    replayDeadLetter: [
      async (req, res) => {
        const letter = await getDeadLetter(ctx.db, param(req, 'id'));
        if (!letter) throw ApiError.of('NOT_FOUND', { deadLetter: param(req, 'id') }, 'No such dead letter');
        // An operator discarded it on purpose: it is not sent again by accident.
        if (letter.discardedAt)
          throw ApiError.of('DEAD_LETTER_CLOSED', { deadLetter: letter.id, discardedAt: letter.discardedAt });
        const outcome = await replayDeadLetter(ctx, letter, String(res.locals['who']));
        if (!outcome.ok) {
          const { status, message } = REPLAY_ERRORS.REPLAY_WOULD_ROLL_BACK;
          throw new ApiError('REPLAY_WOULD_ROLL_BACK', status, message, outcome.rollBack);
        }
        res.status(202).json({ deadLetter: outcome.deadLetter, replay: outcome.replay, queued: outcome.queued });
      },
    ],
  };
}

const FILTER_TEXT = ['code', 'system', 'target'] as const;

/** The body of a bulk replay: a filter and the operator's reason, checked field by field. */
function bulkReplayRequest(body: unknown): { filter: DeadLetterFilter; reason: string } {
  const problems: Array<{ path: string; reason: string }> = [];
  const input = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<
    string,
    unknown
  >;
  if (body === undefined || input !== body) problems.push({ path: '/', reason: 'a JSON object is required' });
  const known = new Set(['stage', 'code', 'system', 'target', 'from', 'to', 'reason']);
  for (const key of Object.keys(input))
    if (!known.has(key)) problems.push({ path: `/${key}`, reason: 'not allowed here (unknown property)' });
  const reason = input.reason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500)
    problems.push({ path: '/reason', reason: 'required: why these dead letters are replayed (1 to 500 characters)' });
  const filter: DeadLetterFilter = {};
  if (input.stage !== undefined) {
    if (input.stage === 'ingest' || input.stage === 'deliver') filter.stage = input.stage;
    else problems.push({ path: '/stage', reason: 'must be "ingest" or "deliver"' });
  }
  for (const key of FILTER_TEXT) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value === 'string' && value !== '') filter[key] = value;
    else problems.push({ path: `/${key}`, reason: 'must be a non-empty string' });
  }
  for (const key of ['from', 'to'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    const time = typeof value === 'string' && /[zZ]|[+-]\d\d:\d\d$/.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(time)) problems.push({ path: `/${key}`, reason: 'must be an RFC 3339 date-time with zone' });
    else filter[key] = new Date(time).toISOString();
  }
  if (problems.length > 0) throw ApiError.of('BAD_REQUEST', problems);
  return { filter, reason: reason as string };
}

/** `equipment`, `from`, `to` (ISO 8601) and `groupBy=shift|order` of GET /api/v1/oee. */
function oeeQuery(query: Record<string, unknown>): OeeQuery {
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const equipment = text('equipment');
  if (!equipment) throw ApiError.of('BAD_REQUEST', { parameter: 'equipment' }, 'equipment is required');
  const time = (name: 'from' | 'to') => {
    const value = text(name);
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    if (Number.isNaN(ms))
      throw ApiError.of('BAD_REQUEST', { parameter: name }, `${name} must be an ISO 8601 date-time`);
    return ms;
  };
  const from = time('from');
  const to = time('to');
  if (to <= from) throw ApiError.of('BAD_REQUEST', { parameter: 'to' }, 'to must be after from');
  const groupBy = query['groupBy'];
  if (groupBy !== undefined && groupBy !== 'shift' && groupBy !== 'order')
    throw ApiError.of('BAD_REQUEST', { parameter: 'groupBy' }, 'groupBy must be shift or order');
  return { equipment, from, to, now: Date.now(), ...(groupBy ? { groupBy } : {}) };
}
