/**
 * Apply worker (one queue, many jobs at once; the store serialises writes to one object): the
 * ownership decision, the store and the audit in one transaction, then the deliveries it planned
 * onto each target's partition queue.
 */
import type { Job } from 'bullmq';
import type { HubContext } from '../context';
import { partitionOf } from '../queue/queue-keys';
import { applyDocument, idempotencyKeyUsedBefore } from '../store/index';
import type { ApplyJob } from './jobs';
import { changeRequestRoute, routesFor } from './route';

export function applyProcessor(ctx: HubContext) {
  return async (job: Job<ApplyJob>): Promise<void> => {
    const { messageId, docIndex, envelope, receivedSeq, idempotencyKey } = job.data;
    const duplicateKey =
      idempotencyKey !== undefined &&
      (await idempotencyKeyUsedBefore(ctx.db, envelope.sourceSystem, idempotencyKey, messageId));
    const outcome = await applyDocument(ctx.db, {
      messageId,
      docIndex,
      envelope,
      receivedSeq,
      duplicateKey,
      ownership: ctx.config.ownership,
      plan: (decision, document, owner) => {
        if (decision === 'proposed') {
          const route = changeRequestRoute(ctx.config.routes, envelope.type, owner);
          return route ? [route] : [];
        }
        return routesFor(ctx.config.routes, envelope.type, document, envelope.sourceSystem);
      },
    });
    if (!outcome.replayed) {
      ctx.metrics.decisions.inc({ system: envelope.sourceSystem, type: envelope.type, decision: outcome.decision });
      ctx.logger.debug(
        {
          messageId,
          docIndex,
          type: envelope.type,
          key: envelope.objectKey,
          decision: outcome.decision,
          rule: outcome.rule,
        },
        'decision',
      );
    }
    const partition = partitionOf(envelope.type, envelope.objectKey, ctx.config.partitions);
    for (const delivery of outcome.deliveries.filter((planned) => planned.status === 'pending')) {
      await ctx.queues
        .deliver(delivery.target, partition)
        .add('deliver', { deliveryId: delivery.id }, { jobId: delivery.id });
    }
  };
}
