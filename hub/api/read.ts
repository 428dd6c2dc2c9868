/** The read and operations API: traces, objects, audit, ownership, connectors, dead letters (roles in operations.ts). */
import type { Static } from '@sinclair/typebox';
import { isCanonicalType } from '../../schemas/index';
import { describeConnector, testable } from '../connectors';
import type { HubContext } from '../context';
import { REPLAY_ERRORS } from '../pipeline/errors';
import { replayDeadLetter, replayMatching } from '../pipeline/replay';
import {
  getDeadLetter,
  getObject,
  listDeadLetters,
  listObjects,
  messageTrace,
  queryAudit,
  verifyAudit,
} from '../store/index';
import type { AuditExportFilter } from '../store/audit-export';
import { equipmentState, oee } from '../context-engine/read';
import { searchMessages, SearchFilterError, type MessageSearch } from '../store/message-search';
import { ApiError } from './errors';
import { param, queryOf, type Handlers } from './mount';
import {
  AuditQuery,
  BulkReplayBody,
  DeadLettersQuery,
  MessageSearchQuery,
  ObjectsQuery,
  OeeQuery,
  ReplayOneBody,
  type AuditFilterQuery,
} from './schemas';

export function readHandlers(ctx: HubContext): Handlers {
  return {
    searchMessages: [
      async (_req, res) => {
        const { limit, status, ...text } = queryOf<Static<typeof MessageSearchQuery>>(res);
        const filter: MessageSearch = { ...text, ...(status ? { status: status as MessageSearch['status'] } : {}) };
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

    listObjects: [
      async (_req, res) => {
        const { type, after, limit = '200' } = queryOf<Static<typeof ObjectsQuery>>(res);
        if (!isCanonicalType(type)) throw ApiError.of('NOT_FOUND', { type }, 'No such canonical type');
        if (Number(limit) < 1 || Number(limit) > 1000)
          throw ApiError.of('BAD_REQUEST', [{ path: '?limit', reason: '1 to 1000' }]);
        res.json(await listObjects(ctx.db, { type, limit: Number(limit), ...(after ? { after } : {}) }));
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
      async (_req, res) => {
        const query = queryOf<Static<typeof OeeQuery>>(res);
        const [from, to] = [Date.parse(query.from), Date.parse(query.to)];
        if (to <= from) throw ApiError.of('BAD_REQUEST', [{ path: '?to', reason: 'must be after from' }]);
        const figures = ctx.engine
          ? await oee(ctx.db, ctx.engine, {
              equipment: query.equipment,
              from,
              to,
              now: Date.now(),
              ...(query.groupBy ? { groupBy: query.groupBy } : {}),
            })
          : undefined;
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
      async (_req, res) => {
        const { after, limit = '1000', ...filter } = queryOf<Static<typeof AuditQuery>>(res);
        if (Number(limit) < 1 || Number(limit) > 10000)
          throw ApiError.of('BAD_REQUEST', [{ path: '?limit', reason: '1 to 10000' }]);
        const records = await queryAudit(ctx.db, {
          ...auditFilterOf(filter),
          ...(after ? { afterSeq: Number(after) } : {}),
          limit: Number(limit),
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
      async (_req, res) => {
        const { all } = queryOf<Static<typeof DeadLettersQuery>>(res);
        res.json({ deadLetters: await listDeadLetters(ctx.db, { includeReplayed: all === 'true' }) });
      },
    ],

    replayDeadLetters: [
      async (req, res) => {
        const { reason, mapping, from, to, ...filter } = req.body as Static<typeof BulkReplayBody>;
        const window = {
          ...(from ? { from: new Date(from).toISOString() } : {}),
          ...(to ? { to: new Date(to).toISOString() } : {}),
        };
        res.json(await replayMatching(ctx, { ...filter, ...window }, String(res.locals['who']), reason, mapping));
      },
    ],

    replayDeadLetter: [
      async (req, res) => {
        const letter = await getDeadLetter(ctx.db, param(req, 'id'));
        if (!letter) throw ApiError.of('NOT_FOUND', { deadLetter: param(req, 'id') }, 'No such dead letter');
        // An operator discarded it on purpose: it is not sent again by accident.
        if (letter.discardedAt)
          throw ApiError.of('DEAD_LETTER_CLOSED', { deadLetter: letter.id, discardedAt: letter.discardedAt });
        const { mapping, reason } = req.body as Static<typeof ReplayOneBody>;
        if (mapping === 'original' && letter.stage === 'deliver')
          throw ApiError.of('BAD_REQUEST', [
            {
              path: '/mapping',
              reason:
                'a delivery is rendered with the outbound mapping loaded now; "original" is for ingest dead letters',
            },
          ]);
        const outcome = await replayDeadLetter(ctx, letter, String(res.locals['who']), reason, mapping);
        if (!outcome.ok) {
          const code = 'rollBack' in outcome ? 'REPLAY_WOULD_ROLL_BACK' : 'REPLAY_MAPPING_UNKNOWN';
          const { status, message } = REPLAY_ERRORS[code];
          throw new ApiError(code, status, message, 'rollBack' in outcome ? outcome.rollBack : outcome.unknownMapping);
        }
        res.status(202).json({
          deadLetter: outcome.deadLetter,
          messageId: outcome.messageId,
          replay: outcome.replay,
          queued: outcome.queued,
          ...(outcome.mapping ? { mapping: outcome.mapping } : {}),
        });
      },
    ],
  };
}

/** The audit filter of a checked query (schemas.ts AuditQuery, AuditExportQuery): times as the log writes them. */
export function auditFilterOf(query: AuditFilterQuery): AuditExportFilter {
  const filter: AuditExportFilter = {};
  for (const name of ['from', 'to'] as const) {
    const value = query[name];
    if (value !== undefined) filter[name] = new Date(value).toISOString();
  }
  for (const name of ['type', 'system', 'decision'] as const) {
    const value = query[name];
    if (value !== undefined) filter[name] = value;
  }
  return filter;
}
