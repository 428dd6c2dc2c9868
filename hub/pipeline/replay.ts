/** Replaying a dead letter: an ingest one re-runs the stored payload, a delivery one is delivered again. */
import type { HubContext } from '../context';
import { partitionOf } from '../queue/queue-keys';
import { getDelivery, markReplayed, storedMessage, type DeadLetter } from '../store/index';
import type { IngestJob } from './jobs';

export async function replayDeadLetter(
  ctx: HubContext,
  letter: DeadLetter,
  by: string,
): Promise<{ deadLetter: string; replay: number; queued: string }> {
  const replay = await markReplayed(ctx.db, letter, by);
  if (letter.stage === 'deliver' && letter.deliveryId) {
    const delivery = await getDelivery(ctx.db, letter.deliveryId);
    if (delivery) {
      const partition = partitionOf(delivery.type, delivery.objectKey, ctx.config.partitions);
      const jobId = `${delivery.id}-replay-${replay}`;
      await ctx.queues.deliver(delivery.target, partition).add('deliver', { deliveryId: delivery.id }, { jobId });
      return { deadLetter: letter.id, replay, queued: jobId };
    }
  }
  const message = await storedMessage(ctx.db, letter.messageId);
  if (!message) throw new Error(`message ${letter.messageId} has no stored payload`);
  const job: IngestJob = {
    messageId: letter.messageId,
    system: message.system,
    contentType: message.contentType as IngestJob['contentType'],
    body: message.body,
    receivedAt: message.receivedAt,
    receivedSeq: message.receivedSeq,
  };
  const jobId = `${letter.messageId}-replay-${replay}`;
  await ctx.queues.ingest.add('ingest', job, { jobId });
  return { deadLetter: letter.id, replay, queued: jobId };
}
