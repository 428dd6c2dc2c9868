/**
 * What operators, integrators and auditors do beyond reading: queues and pausing a target's
 * deliveries, discarding a dead letter, exporting the audit log, listing and dry-running mappings
 * (roles in operations.ts). Every change is audited with who (`res.locals.who`) and why.
 */
import express from 'express';
import type { HubContext } from '../context';
import { dryRunMapping, listMappings } from '../mappings/dry-run';
import { queueStats } from '../pipeline/queue-stats';
import { setTargetPaused, targetState } from '../pipeline/targets';
import { exportAudit, type AuditExportFilter } from '../store/audit-export';
import { appendAudit, discardDeadLetter, getDeadLetter } from '../store/index';
import { ApiError } from './errors';
import { param, type Handlers } from './mount';

export function operateHandlers(ctx: HubContext): Handlers {
  const pause = (paused: boolean): Handlers[string] => [
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const reason = reasonOf(req.body);
      const target = param(req, 'system');
      const state = await setTargetPaused(ctx, target, paused, String(res.locals['who']), reason);
      if (!state) throw ApiError.of('NOT_FOUND', { target }, 'No route delivers to this system');
      res.json(state);
    },
  ];
  return {
    listQueues: [
      async (_req, res) => {
        const targets = [...new Set(ctx.queues.lanes().map((lane) => lane.target))];
        res.json({
          queues: await queueStats(ctx),
          targets: await Promise.all(targets.map((target) => targetState(ctx, target))),
        });
      },
    ],
    pauseTarget: pause(true),
    resumeTarget: pause(false),

    discardDeadLetter: [
      express.json({ limit: '16kb' }),
      async (req, res) => {
        const reason = reasonOf(req.body);
        const letter = await getDeadLetter(ctx.db, param(req, 'id'));
        if (!letter) throw ApiError.of('NOT_FOUND', { deadLetter: param(req, 'id') }, 'No such dead letter');
        if (!(await discardDeadLetter(ctx.db, letter, String(res.locals['who']), reason)))
          throw ApiError.of('DEAD_LETTER_CLOSED', { deadLetter: letter.id });
        res.json({ deadLetter: letter.id, discarded: true });
      },
    ],

    exportAudit: [
      async (req, res) => {
        const format = req.query['format'];
        if (format !== 'csv' && format !== 'jsonl')
          throw ApiError.of('BAD_REQUEST', [{ path: '?format', reason: 'csv or jsonl' }]);
        const filter = auditFilter(req.query);
        // The export itself is audited, before it is sent: who took which records.
        await ctx.db.transaction((tx) =>
          appendAudit(tx, [
            {
              kind: 'operation',
              decision: 'exported',
              rule: 'auditor.export',
              details: { by: String(res.locals['who']), format, filter },
            },
          ]),
        );
        res.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
        res.setHeader('content-disposition', `attachment; filename="handover-audit.${format}"`);
        for await (const chunk of exportAudit(ctx.db, filter, format))
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        res.end();
      },
    ],

    listMappings: [async (_req, res) => void res.json(await listMappings(ctx))],

    dryRunMapping: [
      express.json({ limit: '1mb' }),
      async (req, res) => {
        const body = (req.body ?? {}) as { payload?: unknown; contentType?: unknown; version?: unknown };
        const problems = [
          ...(typeof body.payload === 'string' ? [] : [{ path: '/payload', reason: 'required: the payload as text' }]),
          ...(body.contentType === undefined || body.contentType === 'json' || body.contentType === 'xml'
            ? []
            : [{ path: '/contentType', reason: 'json or xml' }]),
          ...(body.version === undefined || Number.isInteger(body.version)
            ? []
            : [{ path: '/version', reason: 'an integer' }]),
        ];
        if (problems.length > 0) throw ApiError.of('BAD_REQUEST', problems);
        const result = await dryRunMapping(ctx, {
          mapping: param(req, 'id'),
          body: body.payload as string,
          ...(body.contentType ? { contentType: body.contentType as 'json' | 'xml' } : {}),
          ...(body.version !== undefined ? { version: body.version as number } : {}),
        });
        if (!result)
          throw ApiError.of('NOT_FOUND', { mapping: param(req, 'id') }, 'No inbound mapping of this id (and version)');
        res.json(result);
      },
    ],
  };
}

/** The reason a person gives for a change: required, 1 to 500 characters. */
function reasonOf(body: unknown): string {
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500)
    throw ApiError.of('BAD_REQUEST', [{ path: '/reason', reason: 'required: why (1 to 500 characters)' }]);
  return reason;
}

function auditFilter(query: Record<string, unknown>): AuditExportFilter {
  const text = (name: string) =>
    typeof query[name] === 'string' && query[name] !== '' ? (query[name] as string) : undefined;
  const filter: AuditExportFilter = {};
  for (const name of ['from', 'to'] as const) {
    const value = text(name);
    if (value === undefined) continue;
    if (Number.isNaN(Date.parse(value)))
      throw ApiError.of('BAD_REQUEST', [{ path: `?${name}`, reason: 'an ISO 8601 date-time' }]);
    filter[name] = new Date(value).toISOString();
  }
  for (const name of ['type', 'system', 'decision'] as const) {
    const value = text(name);
    if (value !== undefined) filter[name] = value;
  }
  return filter;
}
