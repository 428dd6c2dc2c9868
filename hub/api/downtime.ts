/**
 * Assigning or correcting a stop's reason (operators, or the systems the context configuration names):
 * queued as a message of the engine's own system, so the correction is durable, audited with who and
 * why, and re-routes the corrected DowntimeEvent like any revision.
 */
import type { Static } from '@sinclair/typebox';
import type { HubContext } from '../context';
import { reasonOf } from '../context-engine/engine';
import type { ReasonCorrection } from '../context-engine/stage';
import { getObject } from '../store/index';
import { ApiError } from './errors';
import { takeInbound } from './inbound';
import { param, type Handlers } from './mount';
import { DowntimeReasonBody } from './schemas';

export function downtimeHandlers(ctx: HubContext): Handlers {
  const engine = ctx.engine;
  return {
    setDowntimeReason: [
      async (req, res) => {
        const id = String(param(req, 'id'));
        const body = req.body as Static<typeof DowntimeReasonBody>;
        const event = engine ? await getObject(ctx.db, 'DowntimeEvent', id) : undefined;
        if (!engine || !event || event.sourceSystem !== engine.system)
          throw ApiError.of('NOT_FOUND', { downtimeId: id }, 'No DowntimeEvent of the context engine with this id');
        const unit = engine.unit(String((event.data as { equipmentId?: unknown }).equipmentId));
        const { reasonCode } = body;
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
          ...(body.comment !== undefined ? { comment: body.comment } : {}),
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
