/** Ingest worker: translates the message, records it, and queues one apply job per document. */
import type { Job } from 'bullmq';
import { markReplayStarted, recordInvalid, recordReceived, type ReceivedMessage } from '../store/index';
import type { HubContext } from '../context';
import type { IngestJob } from './jobs';
import { translate } from './translate';

export function ingestProcessor(ctx: HubContext) {
  return async (job: Job<IngestJob>): Promise<void> => {
    const message = job.data;
    // From here BullMQ holds the job until it ends, so the outbox sweep must not queue it again.
    if (message.replayRequest) await markReplayStarted(ctx.db, message.replayRequest);
    const translation = await translate(message, ctx.mappings);
    const received = receivedMessage(
      message,
      translation.ok
        ? { name: translation.mapping, documents: translation.envelopes.length }
        : { name: message.contentType === 'xml' ? 'b2mml' : 'canonical-json', documents: 0 },
    );
    if (!translation.ok) {
      // An invalid payload never becomes valid by retrying: dead letter and audit, no retry.
      await recordInvalid(ctx.db, received, translation.code, translation.problems);
      ctx.metrics.deadLetters.inc({ stage: 'ingest' });
      ctx.metrics.decisions.inc({ system: message.system, type: 'unknown', decision: 'invalid' });
      ctx.logger.warn(
        { messageId: message.messageId, system: message.system, code: translation.code },
        'invalid message',
      );
      return;
    }
    // Recorded before its documents are queued, so a trace never shows decisions without the message.
    await recordReceived(ctx.db, received);
    await Promise.all(
      translation.envelopes.map((envelope, docIndex) => {
        return ctx.queues.apply.add(
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
  };
}

/** The message as the store records it, from its ingest job and what translated it. */
export function receivedMessage(message: IngestJob, mapping: ReceivedMessage['mapping']): ReceivedMessage {
  return {
    id: message.messageId,
    system: message.system,
    receivedAt: message.receivedAt,
    receivedSeq: message.receivedSeq,
    contentType: message.contentType,
    body: message.body,
    mapping,
    ...(message.idempotencyKey === undefined ? {} : { idempotencyKey: message.idempotencyKey }),
  };
}
