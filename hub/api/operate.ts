/**
 * What operators, integrators and auditors do beyond reading: queues and pausing a target's
 * deliveries, discarding a dead letter, exporting the audit log, listing and dry-running mappings
 * (roles in operations.ts). Every change is audited with who (`res.locals.who`) and why.
 */
import type { Static } from '@sinclair/typebox';
import type { HubContext } from '../context';
import { dryRunMapping, listMappings } from '../mappings/dry-run';
import { queueStats } from '../pipeline/queue-stats';
import { setTargetPaused, targetState } from '../pipeline/targets';
import { exportAudit } from '../store/audit-export';
import { appendAudit, discardDeadLetter, getDeadLetter } from '../store/index';
import { ApiError } from './errors';
import { param, queryOf, type Handlers } from './mount';
import { auditFilterOf } from './read';
import { AuditExportQuery, DryRunBody, ReasonBody } from './schemas';

export function operateHandlers(ctx: HubContext): Handlers {
  const pause = (paused: boolean): Handlers[string] => [
    async (req, res) => {
      const { reason } = req.body as Static<typeof ReasonBody>;
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
      async (req, res) => {
        const { reason } = req.body as Static<typeof ReasonBody>;
        const letter = await getDeadLetter(ctx.db, param(req, 'id'));
        if (!letter) throw ApiError.of('NOT_FOUND', { deadLetter: param(req, 'id') }, 'No such dead letter');
        if (!(await discardDeadLetter(ctx.db, letter, String(res.locals['who']), reason)))
          throw ApiError.of('DEAD_LETTER_CLOSED', { deadLetter: letter.id });
        res.json({ deadLetter: letter.id, discarded: true });
      },
    ],

    exportAudit: [
      async (_req, res) => {
        const { format, ...query } = queryOf<Static<typeof AuditExportQuery>>(res);
        const filter = auditFilterOf(query);
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
      async (req, res) => {
        const { payload, contentType, version } = req.body as Static<typeof DryRunBody>;
        const result = await dryRunMapping(ctx, {
          mapping: param(req, 'id'),
          body: payload,
          ...(contentType ? { contentType } : {}),
          ...(version !== undefined ? { version } : {}),
        });
        if (!result)
          throw ApiError.of('NOT_FOUND', { mapping: param(req, 'id') }, 'No inbound mapping of this id (and version)');
        res.json(result);
      },
    ],
  };
}
