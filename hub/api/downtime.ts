/**
 * Assigning or correcting a stop's reason (operators, or the systems the context configuration names):
 * queued as a message of the engine's own system, so the correction is durable, audited with who and
 * why, and re-routes the corrected DowntimeEvent like any revision.
 */
import express from 'express';
import type { HubContext } from '../context';
import { reasonOf } from '../context-engine/engine';
import type { ReasonCorrection } from '../context-engine/stage';
import { getObject } from '../store/index';
import { ApiError } from './errors';
import { takeInbound } from './inbound';
import { param, type Handlers } from './mount';

export function downtimeHandlers(ctx: HubContext): Handlers {
  const engine = ctx.engine;
  return {
    setDowntimeReason: [
      express.json({ limit: '16kb' }),
      async (req, res) => {
        const id = String(param(req, 'id'));
        const body = (req.body ?? {}) as { reasonCode?: unknown; comment?: unknown };
        const problems = [
          ...(typeof body.reasonCode === 'string' && body.reasonCode !== '' && body.reasonCode !== '0'
            ? []
            : [{ path: '/reasonCode', reason: 'required: a reason code of the catalogue' }]),
          ...(body.comment === undefined || (typeof body.comment === 'string' && body.comment.length <= 1000)
            ? []
            : [{ path: '/comment', reason: 'a string of at most 1000 characters' }]),
        ];
        if (problems.length > 0) throw ApiError.of('BAD_REQUEST', problems);
        const event = engine ? await getObject(ctx.db, 'DowntimeEvent', id) : undefined;
        if (!engine || !event || event.sourceSystem !== engine.system)
          throw ApiError.of('NOT_FOUND', { downtimeId: id }, 'No DowntimeEvent of the context engine with this id');
        const unit = engine.unit(String((event.data as { equipmentId?: unknown }).equipmentId));
        const reasonCode = body.reasonCode as string;
        if (!unit || !reasonOf(engine.config, unit.unit, reasonCode))
          throw ApiError.of(
            'BAD_REQUEST',
            [{ path: '/reasonCode', reason: `"${reasonCode}" is not in the reason catalogue for this equipment` }],
            'Unknown reason code',
          );
        const correction: ReasonCorrection = {
          kind: 'reason-correction',
          downtimeId: id,
          reasonCode,
          ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
          by: String(res.locals['who']),
        };
        // Through the door's own path: the same checks, metrics and 503 when Redis does not answer.
        const messageId = await takeInbound(ctx, {
          system: engine.system,
          contentType: 'application/json',
          body: Buffer.from(JSON.stringify(correction)),
          type: undefined,
          idempotencyKey: undefined,
        });
        res.status(202).json({ messageId });
      },
    ],
  };
}
