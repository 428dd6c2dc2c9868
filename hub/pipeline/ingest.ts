/** Ingest worker: records the message, translates it, and hands each document to its ordering partition. */
import type { Job } from 'bullmq';
import { recordInvalid, recordReceived, markRouted } from '../store/index';
import { partitionOf } from '../queue/queue-keys';
import type { HubContext } from '../context';
import type { IngestJob } from './jobs';
import { translate } from './translate';

export function ingestProcessor(ctx: HubContext) {
  return async (job: Job<IngestJob>): Promise<void> => {
    const message = job.data;
    await recordReceived(ctx.db, {
      id: message.messageId,
      system: message.system,
      receivedAt: message.receivedAt,
      receivedSeq: message.receivedSeq,
      contentType: message.contentType,
      body: message.body,
      ...(message.idempotencyKey === undefined ? {} : { idempotencyKey: message.idempotencyKey }),
    });
    const translation = translate(message);
    if (!translation.ok) {
      // An invalid payload never becomes valid by retrying: dead letter and audit, no retry.
      await recordInvalid(
        ctx.db,
        { id: message.messageId, system: message.system },
        translation.code,
        translation.problems,
      );
      ctx.metrics.deadLetters.inc({ stage: 'ingest' });
      ctx.metrics.decisions.inc({ system: message.system, type: 'unknown', decision: 'invalid' });
      ctx.logger.warn(
        { messageId: message.messageId, system: message.system, code: translation.code },
        'invalid message',
      );
      return;
    }
    await Promise.all(
      translation.envelopes.map((envelope, docIndex) => {
        const partition = partitionOf(envelope.type, envelope.objectKey, ctx.config.partitions);
        return ctx.queues.apply(partition).add(
          'apply',
          {
            messageId: message.messageId,
            docIndex,
            envelope,
            receivedSeq: message.receivedSeq,
            ...(message.idempotencyKey === undefined ? {} : { idempotencyKey: message.idempotencyKey }),
          },
          { jobId: `${message.messageId}-${docIndex}` },
        );
      }),
    );
    await markRouted(ctx.db, message.messageId, translation.mapping, translation.envelopes.length);
  };
}
